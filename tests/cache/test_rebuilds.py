"""The cache model on hand-written Dockerfiles and file sets: which step misses first, what
rebuilds after it, stage by stage."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from keelhaul.cache.expensive import expensive_steps
from keelhaul.cache.keys import CacheModel, ContextSource, context_source
from keelhaul.cache.rebuilds import Change, Rebuild, rebuilds
from keelhaul.context.dockerignore import DockerIgnore
from keelhaul.dockerfile.syntax import parse

NODE = """\
FROM node:20
WORKDIR /app
COPY . .
RUN npm ci
RUN npm run build
CMD ["node", "dist/index.js"]
"""
NODE_REORDERED = """\
FROM node:20
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build
CMD ["node", "dist/index.js"]
"""
MULTI = """\
FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
RUN go build -o /out/app ./cmd
FROM node:20 AS web
COPY web/ /web/
RUN cd /web && npm ci && npm run build
FROM alpine:3.20 AS test
COPY test/ /test/
FROM alpine:3.20
COPY --from=build /out/app /usr/local/bin/app
COPY --from=web /web/dist /srv
COPY config.yaml /etc/app/
"""


def run(
    source: str,
    files: tuple[str, ...] = (),
    args: tuple[str, ...] = (),
    ignore: str | None = None,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    before: str | None = None,
) -> Rebuild:
    model = CacheModel.of(parse(source), build_args, target)
    patterns = None if ignore is None else DockerIgnore.parse(ignore)

    def sent(path: str) -> bool:
        return patterns is None or not patterns.excludes(path)

    cached = (
        None if before is None else CacheModel.of(parse(before), build_args, target).static_keys
    )
    return rebuilds(model, Change(frozenset(files), frozenset(args), cached, sent))


def lines(rebuild: Rebuild) -> dict[str, list[int]]:
    """Stage label -> rebuilt lines, for the built stages that rebuild anything."""
    return {s.stage.label: [st.line for st in s.rebuilt] for s in rebuild.stages if s.rebuilt}


# --- single stage -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (("src/app.js",), [3, 4, 5]),
        (("package.json",), [3, 4, 5]),
        (("Dockerfile",), [3, 4, 5]),  # COPY . . copies the Dockerfile too
        ((), []),
    ],
)
def test_copy_everything_before_install_rebuilds_on_any_change(
    files: tuple[str, ...], expected: list[int]
) -> None:
    assert lines(run(NODE, files)).get("0", []) == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (("src/app.js",), [5, 6]),  # the install stays cached
        (("package.json",), [3, 4, 5, 6]),
        (("package-lock.json",), [3, 4, 5, 6]),
        (("README.md",), [5, 6]),
    ],
)
def test_dependency_first_order_reruns_install_only_for_manifests(
    files: tuple[str, ...], expected: list[int]
) -> None:
    assert lines(run(NODE_REORDERED, files)).get("0", []) == expected


def test_first_miss_names_the_file() -> None:
    stage = run(NODE_REORDERED, ("src/app.js", "src/b.js")).stages[0]
    assert stage.first_miss is not None
    assert stage.first_miss.line == 5
    assert stage.reason == "src/app.js changed and 1 more"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (("README.md",), []),
        (("docs/guide.md",), []),
        (("node_modules/x/index.js",), []),
        (("src/app.js", "README.md"), [3, 4, 5]),
        (("keep.md",), [3, 4, 5]),  # brought back by the exception
    ],
)
def test_dockerignored_files_rebuild_nothing(files: tuple[str, ...], expected: list[int]) -> None:
    ignore = "node_modules\n*.md\ndocs/\n!keep.md\n"
    assert lines(run(NODE, files, ignore=ignore)).get("0", []) == expected


def test_config_only_instructions_make_no_layer() -> None:
    # CMD is not listed as rebuilt even though it follows the miss
    assert 6 not in lines(run(NODE, ("x",)))["0"]


# --- sources --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "path", "matches"),
    [
        (".", "anything/at/all", True),
        ("./", "a", True),
        ("/src", "src/a.go", True),
        ("src", "srcx/a.go", False),
        ("src/", "src/deep/a.go", True),
        ("*.json", "package.json", True),
        ("*.json", "sub/package.json", False),
        ("package*.json", "package-lock.json", True),
        ("cmd/*", "cmd/app/main.go", True),  # a matched folder is copied whole
        ("cmd/*/main.go", "cmd/app/main.go", True),
        ("cmd/*/main.go", "cmd/app/util.go", False),
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file10.txt", False),
        ("[ab].txt", "a.txt", True),
        ("[^ab].txt", "c.txt", True),
        ("[^ab].txt", "a.txt", False),
        ("../outside", "outside/x", True),  # Docker keeps sources inside the context
    ],
)
def test_source_matching_follows_docker(source: str, path: str, matches: bool) -> None:
    assert context_source(source).matches(path) is matches


def test_source_is_cleaned() -> None:
    assert context_source("./a//b/../c/") == ContextSource("a/c")


def test_copy_exclude_flag() -> None:
    source = "FROM a\nCOPY --exclude=*.md . /app\nRUN make\n"
    assert lines(run(source, ("README.md",))) == {}
    assert lines(run(source, ("main.c",))) == {"0": [2, 3]}


def test_heredoc_copy_reads_no_context() -> None:
    source = "FROM a\nCOPY <<EOF /etc/x\nhello\nEOF\nRUN make\n"
    assert lines(run(source, ("EOF", "x"))) == {}


def test_variable_in_source_is_expanded() -> None:
    source = "FROM a\nARG DIR=app\nCOPY ${DIR}/ /src/\nRUN make\n"
    assert lines(run(source, ("app/main.c",))) == {"0": [3, 4]}
    assert lines(run(source, ("lib/main.c",))) == {}
    assert lines(run(source, ("lib/main.c",), build_args={"DIR": "lib"})) == {"0": [3, 4]}


def test_unset_variable_in_source_is_noted() -> None:
    model = CacheModel.of(parse("FROM a\nARG DIR\nCOPY $DIR/x /x\n"))
    assert any("unset DIR" in u for u in model.stages[0].steps[2].unknowns)


def test_add_url_is_noted_and_reads_no_context() -> None:
    model = CacheModel.of(parse("FROM a\nADD https://example.com/x.tgz /x\nADD local.tgz /y\n"))
    add_url, add_local = model.stages[0].steps[1:]
    assert add_url.context == ()
    assert "fetched at build time" in add_url.unknowns[0]
    assert add_local.context == (ContextSource("local.tgz"),)


@pytest.mark.parametrize(
    ("mount", "files", "expected"),
    [
        ("--mount=type=bind,source=go.mod,target=go.mod", ("go.mod",), [3, 4]),
        ("--mount=type=bind,source=go.mod,target=go.mod", ("main.go",), []),
        ("--mount=type=cache,target=/root/.cache", ("main.go",), []),
        ("--mount=target=/src", ("main.go",), [3, 4]),  # bind is the default type, . the source
        ("--mount=type=bind,target=/src,from=build", ("main.go",), []),
    ],
)
def test_bind_mounts_of_the_context_are_in_the_key(
    mount: str, files: tuple[str, ...], expected: list[int]
) -> None:
    source = f"FROM a AS build\nFROM golang\nRUN {mount} go mod download\nRUN go build\n"
    assert lines(run(source, files)).get("1", []) == expected


# --- multi-stage ----------------------------------------------------------------------------


def test_stage_result_propagates_through_copy_from() -> None:
    result = run(MULTI, ("cmd/app/main.go",))
    assert lines(result) == {"build": [5, 6], "3": [13, 14, 15]}
    final = result.stages[3]
    assert final.first_miss is not None
    assert final.reason == "stage build rebuilt"


def test_manifest_change_rebuilds_download_and_final() -> None:
    assert lines(run(MULTI, ("go.sum",))) == {"build": [3, 4, 5, 6], "3": [13, 14, 15]}


def test_final_stage_only_change() -> None:
    assert lines(run(MULTI, ("config.yaml",))) == {"3": [15]}


def test_unused_stage_is_not_built() -> None:
    result = run(MULTI, ("test/x_test.go",))
    assert lines(result) == {}
    test_stage = result.stages[2]
    assert not test_stage.built
    assert test_stage.first_miss is None


def test_target_builds_only_what_it_needs() -> None:
    result = run(MULTI, ("test/x_test.go", "cmd/main.go"), target="test")
    assert lines(result) == {"test": [11]}
    assert [s.built for s in result.stages] == [False, False, True, False]


def test_stage_built_from_a_stage_rebuilds_whole() -> None:
    source = "FROM a AS base\nCOPY req.txt .\nRUN pip install -r req.txt\nFROM base\nRUN echo hi\n"
    assert lines(run(source, ("req.txt",))) == {"base": [2, 3], "1": [4, 5]}
    assert lines(run(source, ("other",))) == {}


def test_mount_from_a_stage() -> None:
    source = "FROM a AS gen\nCOPY schema.json .\nFROM b\nRUN --mount=from=gen,target=/g cp /g/x .\n"
    assert lines(run(source, ("schema.json",))) == {"gen": [2], "1": [4]}


def test_copy_from_an_image_never_rebuilds() -> None:
    assert lines(run("FROM a\nCOPY --from=nginx:1 /etc/nginx /etc/nginx\n", ("x",))) == {}


# --- build args -----------------------------------------------------------------------------


def test_build_arg_change_reruns_runs_after_its_declaration() -> None:
    source = (
        "FROM a\nCOPY x .\nRUN make\nARG VERSION=1\nRUN echo build\nCOPY y .\nRUN make install\n"
    )
    assert lines(run(source, args=("VERSION",))) == {"0": [5, 6, 7]}


def test_build_arg_not_declared_in_stage_changes_nothing() -> None:
    assert lines(run("FROM a\nRUN make\n", args=("VERSION",))) == {}


def test_global_arg_in_from_rebuilds_the_stage() -> None:
    source = "ARG BASE=alpine\nFROM $BASE\nRUN make\nFROM b\nRUN x\n"
    assert lines(run(source, args=("BASE",))) == {}  # the target does not build stage 0
    assert lines(run(source, args=("BASE",), target="0")) == {}  # unnamed: no such target
    assert lines(run(source.replace("FROM b", "FROM b\nCOPY --from=0 /x /x"), args=("BASE",))) == {
        "0": [2, 3],
        "1": [5, 6],
    }


def test_build_arg_in_copy_text() -> None:
    source = "FROM a\nARG DIR=x\nCOPY $DIR /d\nCOPY y /e\n"
    assert lines(run(source, args=("DIR",))) == {"0": [3, 4]}


# --- Dockerfile edits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (NODE, []),
        (NODE.replace("npm run build", "npm run compile"), [5]),
        (NODE.replace("WORKDIR /app", "WORKDIR /srv"), [2, 3, 4, 5]),
        (NODE.replace('CMD ["node", "dist/index.js"]', "CMD node x"), []),  # config only
        (NODE.replace("WORKDIR /app\n", "WORKDIR /app\nENV NODE_ENV=production\n"), [4, 5]),
        (NODE.replace("node:20", "node:22"), [1, 2, 3, 4, 5]),
        ("", [1, 2, 3, 4, 5]),
    ],
)
def test_dockerfile_edit_misses_from_first_changed_instruction(
    before: str, expected: list[int]
) -> None:
    cached = before if before else ""
    result = (
        run(NODE, before=cached)
        if before
        else rebuilds(CacheModel.of(parse(NODE)), Change(cached_keys=frozenset()))
    )
    assert lines(result).get("0", []) == expected


def test_label_before_run_does_not_bust_buildkit_cache() -> None:
    before = "FROM a\nRUN make\n"
    after = "FROM a\nLABEL version=2\nRUN make\n"
    assert lines(run(after, before=before)) == {}


# --- expensive steps ------------------------------------------------------------------------


def test_expensive_steps_are_recognised() -> None:
    tree = parse(
        "FROM a\nRUN apt-get update && apt-get install -y gcc\nRUN npm ci\nRUN go build ./...\n"
        "RUN make\nRUN echo hi\nRUN pip install -r requirements.txt\nRUN cargo build --release\n"
    )
    found = expensive_steps(tree)
    assert sorted(found) == [2, 3, 4, 5, 7, 8]
    assert found[3].startswith("dependency install")
    assert found[4].startswith("compile")


def test_renaming_a_stage_rebuilds_nothing() -> None:
    before = "FROM a AS base\nRUN make\nFROM base\nRUN test\n"
    after = "FROM a AS builder\nRUN make\nFROM builder\nRUN test\n"
    assert lines(run(after, before=before)) == {}
