""".dockerignore reading and matching, checked against moby's and fsutil's behaviour.

The tables restate, in our own format, the cases of moby/patternmatcher's tests (TestMatches,
TestMatch, TestCompile, TestReadAll) and tonistiigi/fsutil's walker tests: each case is a fact
about what BuildKit does with a pattern.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keelhaul.context.dockerignore import (
    DockerIgnore,
    DockerIgnoreError,
    MatchKind,
    glob_syntax_error,
    go_clean,
    moby_regexp,
    read_lines,
)
from tests.conftest import corpus_stats
from tests.corpus import CORPUS, require_corpus

# --- matching one pattern (moby TestMatches; the text is a path in the context) ------------

ONE_PATTERN = [
    ("**", "file", True),
    ("**/", "file", True),
    ("**", "dir/file", True),
    ("**/", "dir/file", True),
    ("**/**", "dir/file", True),
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/dir2/file", True),
    ("**/dir", "dir", True),
    ("**/dir", "dir/file", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**file", "file", True),
    ("**file", "dir/file", True),
    ("**/file", "dir/file", True),
    ("**file", "dir/dir/file", True),
    ("**/file", "dir/dir/file", True),
    ("**/file*", "dir/dir/file", True),
    ("**/file*", "dir/dir/file.txt", True),
    ("**/file*txt", "dir/dir/file.txt", True),
    ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/file*.txt*", "dir/dir/file.txt", True),
    ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True),
    ("**/**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/file.txt", True),
    ("a**/*.txt", "a/dir/file.txt", True),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True),
    ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False),
    ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False),
    ("a[^b-d]e", "aze", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("abc.def", "abcdef", False),
    ("abc.def", "abc.def", True),
    ("abc.def", "abcZdef", False),
    ("abc?def", "abcZdef", True),
    ("abc?def", "abcdef", False),
    ("a\\\\", "a\\", True),
    ("**/foo/bar", "foo/bar", True),
    ("**/foo/bar", "dir/foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def", True),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", ".foo", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("a(b)c/def", "a(b)c/xyz", False),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("a\\*b", "a*b", True),
    # Go's filepath.Match cases (moby TestMatch), a pattern matching a folder matching below it.
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", True),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("a[^a][^a][^a]b", "a☺b", False),
    ("[a-ζ]*", "\u03b1", True),  # Greek alpha
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("*x", "xxx", True),
    # Our own: how cleaning and Go's regexp syntax shape what a pattern means.
    ("./foo/", "foo", True),
    ("foo/../bar", "bar", True),
    ("foo//bar/.", "foo/bar", True),
    ("node_modules", "packages/a/node_modules", False),
    ("**/node_modules", "packages/a/node_modules/x/index.js", True),
    ("*.log", "logs/app.log", False),
    ("**/*.log", "logs/app.log", True),
    ("**.log", "deep/er/x.log", True),  # "**" first: a plain suffix test
    ("**file", "dir/myfile", True),  # ...so it matches inside a name too
    ("\\#notes", "#notes", True),  # Go's regexp: escaped punctuation is itself
    ("file\\d", "file7", True),  # ...but \d is a digit class
    ("file\\d", "filed", False),
    ("[[:digit:]]x", "4x", True),  # POSIX classes pass through
    ("[[:digit:]]x", "ax", False),
    ("x[^/]", "x/", False),
    ("a^b*", "a^bc", False),  # a bare ^ is an anchor in Go's regexp: never matches
    ("a\\Q*", "a[^/]*$", True),  # \Q quotes moby's own regexp text, end anchor included
    ("caf\u00e9*", "caf\u00e9-menu", True),
    ("with space", "with space", True),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "path", "expected"), ONE_PATTERN)
def test_one_pattern_matches_like_moby(pattern: str, path: str, expected: bool) -> None:
    ignore = DockerIgnore.from_patterns([pattern])
    assert ignore.matches(path) is expected
    # With one pattern and no exception, what the walk leaves out is the same thing.
    assert ignore.excludes(path) is expected


# --- several patterns: last match wins, exceptions ----------------------------------------

SEVERAL = [
    (["**", "!util/docker/web"], "util/docker/web/foo", False),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    (["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", False),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", False),
    (["*"], "fileutils.go", True),
    (["*.go"], "fileutils.go", True),
    (["!fileutils.go", "*.go"], "fileutils.go", True),
    (["*.go", "!fileutils.go"], "fileutils.go", False),
    (["docs", "!docs/README.md"], "docs/README.md", False),
    (["docs/", "!docs/README.md"], "docs/README.md", False),
    (["docs/*", "!docs/README.md"], "docs/README.md", False),
    ([], "any/path/there", False),
    ([" docs ", "  !docs/README.md  "], "docs/README.md", False),
]  # fmt: skip


@pytest.mark.parametrize(("patterns", "path", "expected"), SEVERAL)
def test_several_patterns(patterns: list[str], path: str, expected: bool) -> None:
    ignore = DockerIgnore.from_patterns(patterns)
    assert ignore.matches(path) is expected
    assert ignore.excludes(path) is expected


def test_the_root_is_never_excluded() -> None:
    ignore = DockerIgnore.from_patterns(["**", "*"])
    for root in (".", "", "/", "./"):
        assert not ignore.matches(root)
        assert not ignore.excludes(root, is_dir=True)


def test_exceptions_are_noticed() -> None:
    assert DockerIgnore.from_patterns(["docs", "  !docs/README.md"]).has_exceptions
    assert not DockerIgnore.from_patterns(["docs", "config", ""]).has_exceptions
    assert len(DockerIgnore.from_patterns(["docs", "config", ""]).patterns) == 2


# --- the walk: which folders BuildKit enters, what it sends (fsutil) ----------------------


def sent(ignore: DockerIgnore, tree: list[str]) -> list[str]:
    """What fsutil's filtered walk emits for ``tree`` (folders end with ``/``), in walk order.

    Folders the patterns exclude still appear when something below them is sent.
    """
    dirs = {p.rstrip("/") for p in tree if p.endswith("/")}
    paths = sorted(p.rstrip("/") for p in tree)
    out: set[str] = set()
    for path in paths:
        if not ignore.excludes(path, path in dirs):
            out.add(path)
            parts = path.split("/")
            out.update("/".join(parts[:k]) for k in range(1, len(parts)))
    return sorted(out)


WALKS = [
    # fsutil TestWalkerExclude: the exception's folder comes along, holding only it.
    (["foo*", "!foo/bar2"], ["bar", "foo/", "foo2", "foo/bar2"], ["bar", "foo", "foo/bar2"]),
    (["**/bar"], ["foo/", "foo/bar/", "foo/bar/baz"], ["foo"]),
    (["**/bar", "!foo/bar/baz"], ["foo/", "foo/bar/", "foo/bar/baz"],
     ["foo", "foo/bar", "foo/bar/baz"]),
    # An exception with a wildcard makes the walk enter every excluded folder...
    (["*", "!*/keep"], ["a/", "a/keep", "a/drop", "b"], ["a", "a/keep"]),
    (["*", "!**/keep"], ["a/", "a/b/", "a/b/keep", "a/drop"], ["a", "a/b", "a/b/keep"]),
    # ...a literal one only the folders it lies in.
    (["*", "!a/keep"], ["a/", "a/keep", "a/drop", "b"], ["a", "a/keep"]),
    (["*", "!keep"], ["a/", "a/keep", "keep"], ["keep"]),
    (["build", "!build/x.keep"], ["build/", "build/x.keep", "build/y"], ["build", "build/x.keep"]),
    # A pattern matching a folder matches what is inside: "*.keep" is no "**/*.keep".
    (["build", "!*.keep"], ["build/", "build/x.keep", "top.keep"], ["top.keep"]),
    (["build", "!**/*.keep"], ["build/", "build/x.keep", "top.keep"],
     ["build", "build/x.keep", "top.keep"]),
    # An exception for a folder brings back all of it.
    (["**", "!util/docker/web"], ["util/", "util/docker/", "util/docker/web/",
                                  "util/docker/web/foo", "util/other"],
     ["util", "util/docker", "util/docker/web", "util/docker/web/foo"]),
    (["docs/*", "!docs/README.md"], ["docs/", "docs/README.md", "docs/a.md"],
     ["docs", "docs/README.md"]),
]  # fmt: skip


@pytest.mark.parametrize(("patterns", "tree", "expected"), WALKS)
def test_what_the_walk_sends(patterns: list[str], tree: list[str], expected: list[str]) -> None:
    assert sent(DockerIgnore.from_patterns(patterns), tree) == expected


def test_leading_slash_is_dropped_when_read_from_a_file() -> None:
    tree = ["node_modules/", "node_modules/x", "dist/", "dist/a.js", "src/", "src/node_modules/"]
    from_file = DockerIgnore.parse("/node_modules\n./dist/\n")
    assert sent(from_file, tree) == ["src", "src/node_modules"]
    # patternmatcher.New alone (as for COPY --exclude) keeps the "/": it matches nothing.
    assert sent(DockerIgnore.from_patterns(["/node_modules"]), tree) == sorted(
        p.rstrip("/") for p in tree
    )


@pytest.mark.parametrize(
    ("patterns", "folder", "enters"),
    [
        (["docs"], "docs", False),
        (["docs", "!docs/README.md"], "docs", True),
        (["docs", "!docs/**"], "docs", True),
        (["docs", "!docsite/x"], "docs", False),
        (["a", "!a/b/c"], "a/b", True),
        (["a", "!*.md"], "zzz", True),
        (["a", "!a/[b]"], "other", True),
        (["a", "!a/b^"], "other", True),
    ],
)
def test_may_reinclude_under(patterns: list[str], folder: str, enters: bool) -> None:
    assert DockerIgnore.from_patterns(patterns).may_reinclude_under(folder) is enters


def test_judge_walks_incrementally_like_excludes() -> None:
    ignore = DockerIgnore.from_patterns(["*", "!src", "src/*.tmp"])
    top = ignore.judge("src", True)
    assert (top.excluded, top.descend) == (False, True)
    inner = ignore.judge("src/a.tmp", False, top)
    assert inner.excluded
    assert ignore.patterns[inner.decider or 0].text == "src/*.tmp"
    other = ignore.judge("vendor", True)
    assert (other.excluded, other.descend) == (True, False)


def test_excluded_by_names_the_deciding_line() -> None:
    ignore = DockerIgnore.parse("# build output\ndist\n\n*.log\n!keep.log\n")
    by = ignore.excluded_by("dist/app.js")
    assert by is not None
    assert (by.line, str(by)) == (2, "dist")
    by = ignore.excluded_by("app.log")
    assert by is not None
    assert by.line == 4
    assert ignore.excluded_by("keep.log") is None
    assert ignore.excluded_by("src/main.go") is None


# --- compiling (moby TestCompile) ---------------------------------------------------------

COMPILED = [
    ("*", MatchKind.REGEXP, "^[^/]*$"),
    ("file*", MatchKind.REGEXP, "^file[^/]*$"),
    ("*file", MatchKind.REGEXP, "^[^/]*file$"),
    ("a*/b", MatchKind.REGEXP, "^a[^/]*/b$"),
    ("**", MatchKind.SUFFIX, None),
    ("**/**", MatchKind.REGEXP, "^(.*/)?.*$"),
    ("dir/**", MatchKind.PREFIX, None),
    ("**/dir", MatchKind.SUFFIX, None),
    ("**/dir2/*", MatchKind.REGEXP, "^(.*/)?dir2/[^/]*$"),
    ("**/dir2/**", MatchKind.REGEXP, "^(.*/)?dir2/.*$"),
    ("**file", MatchKind.SUFFIX, None),
    ("**/file*txt", MatchKind.REGEXP, "^(.*/)?file[^/]*txt$"),
    ("**/**/*.txt", MatchKind.REGEXP, "^(.*/)?(.*/)?[^/]*\\.txt$"),
    ("a[b-d]e", MatchKind.REGEXP, "^a[b-d]e$"),
    (".*", MatchKind.REGEXP, "^\\.[^/]*$"),
    ("abc.def", MatchKind.EXACT, None),
    ("abc?def", MatchKind.REGEXP, "^abc[^/]def$"),
    ("**/foo/bar", MatchKind.SUFFIX, None),
    ("a(b)c/def", MatchKind.EXACT, None),
    ("a.|)$(}+{bc", MatchKind.EXACT, None),
    ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", MatchKind.EXACT, None),
]


@pytest.mark.parametrize(("pattern", "kind", "regexp"), COMPILED)
def test_compiles_like_moby(pattern: str, kind: MatchKind, regexp: str | None) -> None:
    (compiled,) = DockerIgnore.from_patterns([pattern]).patterns
    assert compiled.kind is kind
    assert compiled.regexp == regexp
    assert moby_regexp(pattern)[0] is kind


# --- errors -------------------------------------------------------------------------------

BAD_PATTERNS = [
    ("[]a]", "unescaped `]`"),
    ("[-]", "unescaped `-`"),
    ("[x-]", "unescaped `]`"),
    ("[-x]", "unescaped `-`"),
    ("\\", "lone backslash"),
    ("[a-b-c]", "unescaped `-`"),
    ("[", "never closed"),
    ("[^", "never closed"),
    ("[^bc", "never closed"),
    ("a[", "never closed"),
    ("!", "illegal exclusion pattern"),
    ("!/", "illegal exclusion pattern"),  # cleaned to "!"
    ("[Local-Only]/", "invalid character class range"),  # Go's regexp refuses l-O
    ("[z-a]", "invalid character class range"),
    ("a\\k", "invalid escape"),
    ("x\\pL", "not supported"),
]


@pytest.mark.parametrize(("pattern", "message"), BAD_PATTERNS)
def test_bad_patterns_are_located_errors(pattern: str, message: str) -> None:
    text = f"# first\nok\n{pattern}\n"
    with pytest.raises(DockerIgnoreError) as caught:
        DockerIgnore.parse(text, "ctx/.dockerignore")
    err = caught.value
    assert message in err.message
    assert (err.position.path, err.position.line) == ("ctx/.dockerignore", 3)
    assert str(err).startswith("ctx/.dockerignore:3: ")
    assert err.exit_code == 2


def test_glob_grammar_accepts_what_go_accepts() -> None:
    for pattern in ("[\\]a]", "[\\-x]", "a\\*b", "[^a]", "[a-ζ]*", "[z-a]", "*", "]"):
        assert glob_syntax_error(pattern) is None, pattern


def test_a_huge_line_is_refused() -> None:
    with pytest.raises(DockerIgnoreError, match="64 KiB"):
        DockerIgnore.parse("ok\n" + "a" * 70_000 + "\n")
    assert DockerIgnore.parse("b" * 60_000).patterns[0].line == 1


# --- reading (moby TestReadAll) -----------------------------------------------------------


def test_reads_like_readall() -> None:
    text = (
        "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! "
    )
    assert read_lines(text) == [
        (1, "test1"),
        (2, "test2"),
        (3, "a/file/here"),
        (5, "lastfile"),
        (7, "!inverted/abs/path"),
        (8, "!"),
        (9, "!"),
    ]
    with pytest.raises(DockerIgnoreError) as caught:
        DockerIgnore.parse(text)
    assert caught.value.position.line == 8


@pytest.mark.parametrize(
    ("text", "patterns"),
    [
        ("\ufeffnode_modules\n", ["node_modules"]),
        (b"\xef\xbb\xbfnode_modules\r\n*.log\r\n", ["node_modules", "*.log"]),
        ("  # not a comment\n", ["# not a comment"]),
        ("#comment\n#\n", []),
        ("a \t\n\u00a0b\u3000\n", ["a", "b"]),
        ("!  keep/ \n", ["!keep"]),
        ("/\n", ["/"]),
        ("//double\n", ["double"]),
        ("a/b/../c/./d/\n", ["a/c/d"]),
        ("../outside\n", ["../outside"]),
        ("no-newline-at-end", ["no-newline-at-end"]),
        ("x\x0by\n", ["x\x0by"]),  # only \n ends a line
    ],
)
def test_reading_details(text: str | bytes, patterns: list[str]) -> None:
    ignore = DockerIgnore.parse(text)
    assert [str(p) for p in ignore.patterns] == patterns


def test_go_clean() -> None:
    cases = {
        "": ".",
        ".": ".",
        "a/": "a",
        "./a": "a",
        "a//b": "a/b",
        "a/./b/..": "a",
        "../a/..": "..",
        "/../a": "/a",
        "//a": "/a",
        "a/../..": "..",
        "/": "/",
    }
    for raw, clean in cases.items():
        assert go_clean(raw) == clean, raw


# --- properties ---------------------------------------------------------------------------

_NAME = st.text(alphabet="abc.-_", min_size=1, max_size=4).filter(lambda s: s not in (".", ".."))
_PATH = st.lists(_NAME, min_size=1, max_size=4).map("/".join)
_GLOB_SEGMENT = st.text(alphabet="abc.*?", min_size=1, max_size=4).filter(
    lambda s: "**" not in s and s not in (".", "..")
)


@given(st.lists(_GLOB_SEGMENT, min_size=1, max_size=3), _PATH)
def test_simple_globs_match_segment_by_segment(segments: list[str], path: str) -> None:
    """Without ``**`` a pattern matches a path when it matches its first folders one by one."""
    import fnmatch

    pattern = "/".join(segments)
    parts = path.split("/")
    expected = len(parts) >= len(segments) and all(
        fnmatch.fnmatchcase(part, seg) for part, seg in zip(parts, segments, strict=False)
    )
    assert DockerIgnore.from_patterns([pattern]).matches(path) is expected


@given(_PATH)
def test_literal_pattern_excludes_itself_and_below(path: str) -> None:
    ignore = DockerIgnore.from_patterns([path])
    assert ignore.excludes(path)
    assert ignore.excludes(path + "/inner/file")
    assert not ignore.excludes(path + "x")


@given(st.lists(st.sampled_from(["*", "**", "a*", "**/b", "a/**", "!a", "c?"]), max_size=5), _NAME)
def test_a_final_exception_always_wins_at_the_top(patterns: list[str], name: str) -> None:
    ignore = DockerIgnore.from_patterns([*patterns, "!" + name])
    assert not ignore.excludes(name)
    assert not ignore.matches(name)


@given(st.text(max_size=200), st.lists(_PATH, max_size=5))
def test_any_text_parses_or_fails_cleanly(text: str, paths: list[str]) -> None:
    try:
        ignore = DockerIgnore.parse(text)
    except DockerIgnoreError as err:
        line = err.position.line
    else:
        line = 0
        for path in paths:
            assert isinstance(ignore.excludes(path), bool)
            assert isinstance(ignore.matches(path), bool)
    assert line == 0 or 1 <= line <= text.count("\n") + 1


# --- real files ---------------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_dockerignore_files_read_cleanly() -> None:
    stats = corpus_stats("dockerignore files read")
    for path in require_corpus("dockerignore"):
        ignore = DockerIgnore.parse(path.read_bytes(), str(path))
        stats["files"] += 1
        stats["patterns"] += len(ignore.patterns)
        stats["with exceptions"] += ignore.has_exceptions


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("corpus_file", "path", "is_dir", "excluded"),
    [
        ("docker+cli/.dockerignore", "build/docker", False, True),  # "/build/"
        ("docker+cli/.dockerignore", "cli/build", True, False),
        ("docker+cli/.dockerignore", "man/man1/docker.1", False, True),  # "/man/man*/"
        ("docker+cli/.dockerignore", "cmd/docker/winresources/rsrc_386.syso", False, True),
        ("docker+cli/.dockerignore", "profile.out", False, True),
        ("docker+cli/.dockerignore", "go.mod", False, True),
        ("louislam+uptime-kuma/.dockerignore", "docker/dockerfile-alpine", False, True),
        ("louislam+uptime-kuma/.dockerignore", "Dockerfile", False, True),  # **/[Dd]ockerfile*
        ("louislam+uptime-kuma/.dockerignore", "data2/x.db", False, True),  # "/data*"
        ("louislam+uptime-kuma/.dockerignore", "src/data/x.js", False, False),
        ("louislam+uptime-kuma/.dockerignore", "server/.git", True, True),  # "**/.git"
        ("louislam+uptime-kuma/.dockerignore", "extra/healthcheck.go", False, False),
        ("louislam+uptime-kuma/.dockerignore", "extra/healthcheck", False, True),
        ("slimtoolkit+slim/.dockerignore", "dist_linux/slim", False, False),
        ("slimtoolkit+slim/.dockerignore", "dist_linux_arm64/slim", False, False),
        ("slimtoolkit+slim/.dockerignore", "dist_mac/slim", False, True),
        ("slimtoolkit+slim/.dockerignore", "dist_linux/x.command", False, True),
    ],
)
def test_corpus_patterns(corpus_file: str, path: str, is_dir: bool, excluded: bool) -> None:
    file = CORPUS / "dockerignore" / corpus_file
    if not file.is_file():
        pytest.skip("no shared corpus")
    assert DockerIgnore.parse(file.read_bytes()).excludes(path, is_dir) is excluded
