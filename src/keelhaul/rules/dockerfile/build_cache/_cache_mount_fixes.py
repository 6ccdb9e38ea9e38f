"""The unsafe fix of KH184 (missing-cache-mount): BuildKit cache mounts on a RUN.

The fix adds the ``--mount=type=cache,target=...`` flags right after the RUN keyword (the rest
of the line and the continuation layout stay), a ``# syntax=docker/dockerfile:1`` directive
at the top of the file when it has none and the ``fix-syntax-directive`` setting asks for one
(BuildKit's built-in frontend reads cache mounts; the directive makes it pull one), and for apt the removal of Debian's docker-clean
hook, which would empty /var/cache/apt after every install.

"Instead of cleanup": the options that bypass the cache (``pip --no-cache-dir``, ``uv
--no-cache``...) are dropped, as they would make the new mount useless; apk's ``--no-cache``
becomes ``--update-cache`` (apk still fetches a fresh index, now kept in the mounted cache).
Cleanup *commands* (``rm -rf /var/lib/apt/lists/*``, ``npm cache clean``) stay: they only
empty the cache at the end of the RUN (wasteful, never wrong), and cutting a command out of
an ``&&`` chain across continuation lines is a rewrite this fix does not need to risk.

A fix is offered only where it is exact: the targets are known absolute paths (``~`` only for
root; a non-root user needs its home and ``uid=``, which keelhaul does not know), and a
prefix command (docker-clean) is only added where the script starts on the RUN's first line
after its flags, never into a heredoc.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from keelhaul.dockerfile.operations import PIP_NO_CACHE_DIR, PackageOperation
from keelhaul.dockerfile.scripts import heredoc_is_script
from keelhaul.dockerfile.syntax import Dockerfile, Instruction, Line, LineRole
from keelhaul.findings import Edit, Fix, Safety
from keelhaul.rules.dockerfile.build_cache._dependencies import CacheDir
from keelhaul.rules.dockerfile.shared.layers import is_root_user
from keelhaul.rules.dockerfile.shared.packages import APT, word_span
from keelhaul.rules.registry import Run, fix_builder

SYNTAX_DIRECTIVE = "# syntax=docker/dockerfile:1"
WHY_UNSAFE = (
    "needs BuildKit (DOCKER_BUILDKIT=1 / docker buildx); the legacy builder rejects --mount"
)

#: The option that keeps a manager from using its cache, which a cache mount makes pointless.
NO_CACHE = {"pip": "--no-cache-dir", "apk": "--no-cache", "uv": "--no-cache",
            "poetry": "--no-cache", "pipenv": "--no-cache", "npm": "--no-cache"}  # fmt: skip
#: What replaces it (apk's --no-cache also fetched a fresh index; --update-cache still does).
_REPLACEMENT = {"apk": "--update-cache"}

_DOCKER_CLEAN = "rm -f /etc/apt/apt.conf.d/docker-clean"
#: The `apt` program (not apt-get) deletes downloaded .deb files unless told to keep them.
_KEEP_DOWNLOADS = (
    "echo 'Binary::apt::APT::Keep-Downloaded-Packages \"true\";' > /etc/apt/apt.conf.d/keep-cache"
)
#: ``RUN <<EOF bash``: the heredoc is a script a shell runs.
_HEREDOC_SHELL = re.compile(
    r"\s*<<-?\s*(['\"]?)[A-Za-z_][\w.-]*\1(?:\s+(?:/usr)?(?:/bin/)?(?:ba|da)?sh)?\s*"
)
_KEEPS_DEBS = re.compile(r"apt\.conf\.d/docker-clean|Keep-Downloaded-Packages")
#: A mount target written without quoting: no variables, commas, spaces or quotes.
_PLAIN_TARGET = re.compile(r"/[A-Za-z0-9._/@+-]*")


def mount_flag(place: CacheDir, user: str | None) -> str | None:
    """The exact ``--mount`` flag for ``place``, or None when it cannot be written exactly."""
    target = place.target
    if target.startswith("~"):
        if not is_root_user(user):
            return None  # the home folder and uid of a non-root user are not known here
        target = "/root" + target[1:]
    if not _PLAIN_TARGET.fullmatch(target):
        return None
    return f"--mount=type=cache,target={target}" + (",sharing=locked" if place.locked else "")


def syntax_edit(tree: Dockerfile) -> Edit | None:
    """Insert ``# syntax=docker/dockerfile:1`` as line 1 when the file has no such directive.

    Parser directives must come before anything else; line 1 is always right: with the other
    directives when there are some (their order does not matter), and before any comment.
    """
    if tree.directive("syntax") is not None:
        return None
    first = next(iter(tree.lines()), None)
    newline = "\r\n" if first is not None and first.text.endswith("\r\n") else "\n"
    return Edit(1, 0, SYNTAX_DIRECTIVE + newline)


@dataclass(frozen=True)
class _Change:
    """A change of one word of a command on one physical line (0-based columns)."""

    line: int
    start: int
    end: int
    new: str


@fix_builder
def cache_mount_fix(
    tree: Dockerfile,
    run: Run,
    ops: Sequence[PackageOperation],
    missing: Sequence[CacheDir],
    user: str | None,
    keeps_debs: bool,
    syntax: bool = False,
) -> Fix | None:
    """The fix adding mounts for ``missing`` to ``run``'s RUN, or None when not exact; with
    ``syntax`` (the ``fix-syntax-directive`` setting), a ``# syntax=`` line too."""
    inst = run.instruction
    if inst.sub is not None or inst.effective.json:
        return None
    flags = [mount_flag(place, user) for place in missing]
    if not flags or any(f is None for f in flags):
        return None
    commands = _apt_commands(inst, ops, missing, keeps_debs)
    edits: list[Edit] = []
    prefix = " ".join(f"{c};" for c in commands)
    if inst.heredocs and commands:
        # the commands go into the heredoc when it is the script a shell runs, else nowhere
        inserted = None
        if heredoc_is_script(inst) or _HEREDOC_SHELL.fullmatch(inst.args):
            inserted = _heredoc_insertion(inst, commands)
        if inserted is None:
            return None
        edits.append(inserted)
        prefix = ""
    # where word_span can map words back to lines: a plain script, or a `RUN <<EOF` body
    mapped = heredoc_is_script(inst) or not inst.heredocs
    changes = list(_option_changes(run, ops)) if mapped else []
    lines = _changed_lines(inst, changes, tree.escape)
    written = [f for f in flags if f is not None]
    first = _first_line(inst, lines.get(inst.start_line, inst.lines[0].content), written, prefix,
                        tree.escape)  # fmt: skip
    if first is None:
        return None
    lines[inst.start_line] = first
    edits += [_line_edit(inst, number, content) for number, content in sorted(lines.items())]
    directive = syntax_edit(tree) if syntax else None
    if directive is not None:
        edits.insert(0, directive)
    targets = ", ".join(m.target for m in missing)
    return Fix(tuple(edits), f"add BuildKit cache mounts ({targets})", Safety.UNSAFE, WHY_UNSAFE)


def _apt_commands(
    inst: Instruction, ops: Sequence[PackageOperation], missing: Sequence[CacheDir], keeps: bool
) -> list[str]:
    """The commands that stop Debian's docker-clean from emptying the mounted apt cache."""
    if keeps or _KEEPS_DEBS.search(inst.text):
        return []
    if not any(m.target == "/var/cache/apt" for m in missing):
        return []
    if not any(op.manager in APT for op in ops):
        return []
    if any(op.manager == "apt" for op in ops):
        return [_DOCKER_CLEAN, _KEEP_DOWNLOADS]
    return [_DOCKER_CLEAN]


def _heredoc_insertion(inst: Instruction, commands: list[str]) -> Edit | None:
    """``commands`` as the first lines of the heredoc script (after a ``#!`` line)."""
    body = [line for line in inst.lines if line.role is LineRole.HEREDOC]
    if not body:
        return None
    first = body[1] if body[0].content.startswith("#!") and len(body) > 1 else body[0]
    if first is body[0] and first.content.startswith("#!"):
        return None
    text = first.content
    indent = text[: len(text) - len(text.lstrip(" \t"))]
    newline = first.text[len(text) :] or "\n"
    lines = "".join(f"{indent}{command}{newline}" for command in commands)
    return Edit(first.number, first.number - 1, lines)


def _option_changes(run: Run, ops: Iterable[PackageOperation]) -> Iterable[_Change]:
    """Drop (or, for apk, replace) the options that bypass the cache the mount keeps."""
    for op in ops:
        option = NO_CACHE.get(op.manager)
        if option is None:
            continue
        cmd = op.command
        spellings = PIP_NO_CACHE_DIR if op.manager == "pip" else (option,)
        replacement = _REPLACEMENT.get(op.manager, "")
        if op.manager == "apk" and op.has("-U", "--update", "--update-cache"):
            replacement = ""  # it fetches the index already: never two spellings of it
        for index, word in enumerate(cmd.argv):
            if index == 0 or word not in spellings:
                continue
            span = word_span(run, cmd, index)
            if span is None or span.line != span.end_line:
                continue
            line = _line(run.instruction, span.line)
            if line is None or line.content[span.column - 1 : span.end_column - 1] != word:
                continue  # quoted or not found as written: leave it
            yield _Change(span.line, span.column - 1, span.end_column - 1, replacement)


def _line(inst: Instruction, number: int) -> Line | None:
    return next((line for line in inst.lines if line.number == number), None)


def _changed_lines(inst: Instruction, changes: list[_Change], escape: str) -> dict[int, str]:
    """Line number -> new content without its line break; "" deletes a continuation line."""
    out: dict[int, str] = {}
    for change in sorted(changes, key=lambda c: (c.line, -c.start)):
        line = _line(inst, change.line)
        if line is None:
            continue
        content = out.get(change.line, line.content)
        start, end = change.start, change.end
        if change.new:
            out[change.line] = content[:start] + change.new + content[end:]
            continue
        if content[:start].strip(" \t"):  # drop the word with the blanks before it
            while start > 0 and content[start - 1] in " \t":
                start -= 1
        else:  # the first word of its line: drop the blanks after it, keep the indentation
            while end < len(content) and content[end] in " \t":
                end += 1
        new = content[:start] + content[end:]
        if not new.strip(" \t"):
            continue  # the line would end the instruction early: keep the option
        if new.strip(" \t") == escape and change.line != inst.start_line:
            out[change.line] = ""  # nothing left but the continuation: drop the line
            continue
        out[change.line] = new
    return out


def _skip_word(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    while pos < len(text) and text[pos] not in " \t":
        pos += 1
    return pos


def _first_line(
    inst: Instruction, content: str, flags: list[str], prefix: str, escape: str
) -> str | None:
    """The RUN's first line with ``flags`` after the keyword and ``prefix`` before the script.

    One flag goes on the line itself; several go one a line, as continuation lines (``\n``
    in the result stands for the file's line break).
    """
    original = inst.lines[0].content
    indent = len(original) - len(original.lstrip(" \t"))
    keyword_end = indent + len(inst.keyword)
    if (
        original[indent:keyword_end] != inst.keyword
        or content[:keyword_end] != original[:keyword_end]
    ):
        return None
    if prefix:
        script_start = keyword_end
        for _ in inst.flags:
            after = _skip_word(content, script_start)
            if not content[script_start:after].strip(" \t").startswith("--"):
                return None  # a flag on a later line: the script does not start here
            script_start = after
        if any(ch in content[keyword_end:script_start] for ch in "\"'`\\$"):
            return None  # a quoted or escaped flag: its words are not where spaces say
        rest = content[script_start:]
        if not rest.strip(" \t"):
            return None
        gap = "" if rest[:1] in (" ", "\t") else " "
        content = f"{content[:script_start]} {prefix}{gap}{rest}"
    rest = content[keyword_end:]
    if len(flags) == 1:
        gap = "" if rest[:1] in (" ", "\t") else " "
        return f"{content[:keyword_end]} {flags[0]}{gap}{rest}"
    more = _continuation_indent(inst, indent)
    head = f" {escape}\n{more}".join(flags)
    tail = rest.strip(" \t")
    if tail == escape:  # `RUN \`: the script starts on the next line already
        return f"{content[:keyword_end]} {head} {escape}"
    script = rest.lstrip(" \t")
    return f"{content[:keyword_end]} {head} {escape}\n{more}{script}"


def _continuation_indent(inst: Instruction, indent: int) -> str:
    """The indentation of the RUN's second code line (at least four spaces past the
    keyword's unless it uses tabs), else the keyword's plus four spaces."""
    fallback = " " * (indent + 4)
    for line in inst.lines[1:]:
        if line.role is LineRole.CODE and line.content.strip(" \t"):
            text = line.content
            found = text[: len(text) - len(text.lstrip(" \t"))]
            return found if "\t" in found or len(found) >= len(fallback) else fallback
    return fallback


def _line_edit(inst: Instruction, number: int, content: str) -> Edit:
    line = _line(inst, number)
    assert line is not None
    if number != inst.start_line and content == "":
        return Edit(number, number, "")
    ending = line.text[len(line.content) :]
    newline = ending or ("\r\n" if inst.lines[0].text.endswith("\r\n") else "\n")
    return Edit(number, number, content.replace("\n", newline) + ending)
