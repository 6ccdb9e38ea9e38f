"""Fixes of the package-manager rules: words put into a RUN's script where the command is
written, a cleanup appended to its chain, a lone index update merged into the next RUN.

Every fix edits the script through :class:`ScriptText`, which knows where each character of
the script the shell runs is written in the Dockerfile (continuation lines, ONBUILD, heredoc
bodies), so only the words concerned move and the rest of each line stays as it is. Each fix
is then proved: the edited instruction is parsed again, and its shell commands must be the old
ones with exactly the intended change. When anything is unsure (a command inside ``sh -c`` or
``$(...)``, a script the shell parser read only approximately, quoting around the word), there
is no fix.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from keelhaul.dockerfile.edits import indentation, split_lines
from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.dockerfile.scripts import heredoc_is_script, script_texts
from keelhaul.dockerfile.shell import SHELLS, ShellScript, SimpleCommand
from keelhaul.dockerfile.syntax import Instruction, LineRole, parse
from keelhaul.findings import Edit, Fix
from keelhaul.rules.dockerfile.shared.packages import APT, analysis
from keelhaul.rules.dockerfile.shared.structure import base_of
from keelhaul.rules.registry import DockerfileContext, Run, fix_builder, read_script

#: Words a fix may anchor to or put in: plain, nothing the shell would read specially.
_PLAIN = re.compile(r"-{0,2}[A-Za-z0-9][A-Za-z0-9_.:+/=-]*\Z")
#: Wrappers that leave the command running as the RUN's user, in the RUN's filesystem.
_SAME_USER = frozenset({"env", "nice", "ionice", "nohup", "time", "command", "stdbuf",
                        "eatmydata", "timeout"})  # fmt: skip
#: Commands after which an appended cleanup would never run.
_NO_RETURN = frozenset({"exit", "exec", "return"})
#: What may follow a command taken out of a script (and the blanks around it).
_SEPARATOR = re.compile(r"[ \t]*(&&|;|\n)[ \t]*")
#: Connectors of a plain chain: each command runs only when the one before succeeded.
_CHAIN = (None, "&&", "|", "|&")

Argvs = list[tuple[tuple[str, ...], tuple[str, ...]]]
"""A script's commands as (argv, context), what a fix is proved on."""


# --------------------------------------------------------------------------------------------
# where the script is written


@dataclass(frozen=True)
class _Piece:
    """A run of script characters written contiguously on one physical line."""

    start: int
    end: int
    at: int
    """Offset of ``script[start]`` in the instruction's source."""
    line: int
    """Index of the line in ``Instruction.lines``."""


@lru_cache(maxsize=4)
def _continuation(escape: str) -> re.Pattern[str]:
    e = re.escape(escape)
    return re.compile(rf"([^{e}]){e}[ \t]*\Z|^{e}[ \t]*\Z", re.DOTALL)


@dataclass(frozen=True)
class ScriptText:
    """A RUN's script and where each of its characters is written in the instruction."""

    run: Run
    script: str
    source: str
    """The instruction's source text: its physical lines with their line breaks."""
    pieces: tuple[_Piece, ...]
    body: bool
    """The script is a heredoc body (``RUN <<EOF``): one script line per physical line."""
    whole: bool
    """The pieces cover the whole script, so a command can be appended at its end."""
    escape: str

    @property
    def inst(self) -> Instruction:
        return self.run.instruction

    @property
    def newline(self) -> str:
        first = self.inst.lines[0].text
        return "\r\n" if first.endswith("\r\n") else "\n"

    def position(self, offset: int, after: bool) -> int | None:
        """Where script ``offset`` is in the source; ``after``: just after ``offset - 1``."""
        for piece in self.pieces:
            if (
                (piece.start < offset <= piece.end)
                if after
                else (piece.start <= offset < piece.end)
            ):
                return piece.at + offset - piece.start
        return None


def _line_starts(inst: Instruction) -> list[int]:
    starts = [0]
    for line in inst.lines:
        starts.append(starts[-1] + len(line.text))
    return starts


def _body_pieces(inst: Instruction, body: str) -> tuple[_Piece, ...] | None:
    starts = _line_starts(inst)
    pieces: list[_Piece] = []
    offset = 0
    for index, line in enumerate(inst.lines):
        if line.role is LineRole.TERMINATOR:
            break
        if line.role is not LineRole.HEREDOC:
            continue
        pieces.append(_Piece(offset, offset + len(line.text), starts[index], index))
        offset += len(line.text)
    written = "".join(inst.lines[p.line].text for p in pieces)
    return tuple(pieces) if written == body else None


def _code_pieces(inst: Instruction, script: str, escape: str) -> tuple[_Piece, ...] | None:
    """The code lines as the parser joins them (continuations cut), located in the source."""
    starts = _line_starts(inst)
    pattern = _continuation(escape)
    raw: list[tuple[int, int, str]] = []
    for index, line in enumerate(inst.lines):
        if line.role is not LineRole.CODE:
            continue
        content = line.content
        column = len(content) - len(content.lstrip()) if not raw else 0
        text = content[column:]
        found = pattern.search(text)
        if found is not None:
            text = text[: found.start()] + (found.group(1) or "")
        raw.append((index, column, text))
    joined = "".join(t for _, _, t in raw)
    skip = len(joined.rstrip()) - len(script)
    if not script or skip < 0 or joined[skip : skip + len(script)] != script:
        return None
    pieces: list[_Piece] = []
    offset = -skip
    for index, column, text in raw:
        start, end = max(offset, 0), min(offset + len(text), len(script))
        if start < end:
            pieces.append(_Piece(start, end, starts[index] + column + start - offset, index))
        offset += len(text)
    return tuple(pieces)


def script_text(run: Run, escape: str) -> ScriptText | None:
    """Where the script of ``run`` is written, or None when it cannot be told exactly."""
    inst = run.instruction
    eff = inst.effective
    if eff.name != "RUN" or eff.json or not run.script.parsed_exactly:
        return None
    texts = script_texts(inst)
    if not texts:
        return None
    source = inst.text
    if heredoc_is_script(inst):
        body_pieces = _body_pieces(inst, texts[0])
        if body_pieces is None:
            return None
        return ScriptText(run, texts[0], source, body_pieces, True, len(eff.heredocs) == 1, escape)
    if not eff.values:
        return None
    # With heredocs attached as data, only the command line itself (values[0]) is located.
    pieces = _code_pieces(inst, eff.values[0], escape)
    if pieces is None:
        return None
    return ScriptText(run, texts[0], source, pieces, False, not eff.heredocs, escape)


# --------------------------------------------------------------------------------------------
# changing the script


@dataclass(frozen=True)
class Change:
    """Replace ``script[start:end]`` with ``text``; an insertion (start == end) goes with the
    character before it when ``after``, else with the one after it."""

    start: int
    end: int
    text: str
    after: bool = True
    end_after: bool = True
    """The end goes with the character before it (else with the one at ``end``)."""


def _apply(st: ScriptText, changes: Sequence[Change]) -> str | None:
    """The instruction's new source, or None when a change cannot be placed exactly."""
    spans: list[tuple[int, int, str]] = []
    starts = _line_starts(st.inst)
    for change in changes:
        if change.start == change.end:
            a = b = st.position(change.start, change.after)
        else:
            a = st.position(change.start, False)
            b = st.position(change.end, change.end_after)
        if a is None or b is None or b < a:
            return None
        # a removal across lines must not take a comment or a blank line with it
        count = len(st.inst.lines)
        first = min(bisect_right(starts, a) - 1, count - 1)
        last = min(bisect_right(starts, max(b - 1, a)) - 1, count - 1)
        if any(st.inst.lines[i].role in (LineRole.COMMENT, LineRole.BLANK)
               for i in range(first, last + 1)):  # fmt: skip
            return None
        spans.append((a, b, change.text.replace("\n", st.newline)))
    spans.sort()
    if any(spans[i][1] > spans[i + 1][0] for i in range(len(spans) - 1)):
        return None
    source = st.source
    for a, b, text in reversed(spans):
        source = source[:a] + text + source[b:]
    return source


def _reparsed(st: ScriptText, source: str) -> ShellScript | None:
    """The shell script of the instruction written as ``source``."""
    prefix = "" if st.escape == "\\" else f"# escape={st.escape}\n"
    tree = parse(prefix + source)
    if tree.errors or len(tree.instructions) != 1:
        return None
    new = tree.instructions[0]
    old = st.inst
    if (new.name, new.effective.name, new.effective.flags) != (
        old.name, old.effective.name, old.effective.flags
    ):  # fmt: skip
        return None
    texts = script_texts(new)
    if not texts:
        return None
    script, _ops = read_script(texts[0])
    return script if script.parsed_exactly else None


def argvs(script: ShellScript) -> Argvs:
    return [(c.argv, c.context) for c in script.commands]


def edit_of(st: ScriptText, changes: Sequence[Change], expected: Argvs) -> Edit | None:
    """The line edit that makes ``changes``, if the result runs exactly ``expected``."""
    source = _apply(st, changes)
    if source is None or source == st.source:
        return None
    script = _reparsed(st, source)
    if script is None or argvs(script) != expected:
        return None
    return _line_edit(st.inst, source)


def _line_edit(inst: Instruction, source: str) -> Edit:
    """One edit replacing only the lines of ``inst`` that differ in ``source``."""
    old = [line.text for line in inst.lines]
    new = split_lines(source)[1]
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return Edit(inst.start_line + head, inst.end_line - tail, "".join(new[head : len(new) - tail]))


# --------------------------------------------------------------------------------------------
# commands and words


def located(cmd: SimpleCommand) -> bool:
    """The command is written in the script itself (not in ``sh -c``, ``$()``, a heredoc)."""
    return not cmd.parent and "heredoc" not in cmd.context and len(cmd.arg_spans) == len(cmd.argv)


def plain_word(st: ScriptText, cmd: SimpleCommand, index: int) -> tuple[int, int] | None:
    """The offsets of ``cmd.argv[index]`` when it is written as is (no quotes, no escapes)."""
    if not located(cmd) or not 0 <= index < len(cmd.argv):
        return None
    start, end = cmd.arg_spans[index]
    word = cmd.argv[index]
    if st.script[start:end] != word or _PLAIN.match(word) is None:
        return None
    return start, end


def subcommand_index(op: PackageOperation, last: bool = False) -> int | None:
    """Where the subcommand (its first word, or its ``last``) is in ``op.command.argv``."""
    words = op.subcommand.split()
    argv = op.command.argv
    if not words or words[0] not in argv[1:]:
        return None
    index = argv.index(words[0], 1)
    if last:
        for word in words[1:]:
            if argv[index + 1 : index + 2] != (word,):
                return None
            index += 1
    return index


# --------------------------------------------------------------------------------------------
# layout of a RUN written over several lines


def _code_lines(st: ScriptText) -> list[int]:
    """Indexes of the lines the script is written on, in order."""
    return sorted({p.line for p in st.pieces})


def _leading_operators(st: ScriptText) -> bool:
    """The RUN starts its continuation lines with ``&&`` (``\\`` then `` && cmd``)."""
    lines = _code_lines(st)
    return any(st.inst.lines[i].content.lstrip().startswith("&&") for i in lines[1:])


def _indent_of(text: str) -> str:
    return text[: len(text) - len(text.lstrip(" \t"))]


def _command_lines(st: ScriptText) -> Iterator[int]:
    """Continuation lines on which a command starts (after an optional leading ``&&``)."""
    starts = {c.start for c in st.run.script.commands if not c.parent}
    first = _code_lines(st)[0]
    for piece in st.pieces:
        if piece.line == first:
            continue
        stripped = st.script[piece.start : piece.end].lstrip(" \t")
        if stripped.startswith("&&"):
            stripped = stripped[2:].lstrip(" \t")
        if piece.end - len(stripped) in starts:
            yield piece.line


def _continuation_indent(st: ScriptText, last: bool) -> str:
    """The indentation of the continuation lines that start commands (the ``last`` one or
    the first). Without any: for a command at the end, the smallest indentation of the
    continuation lines; at the start (before lines of arguments), the instruction's own
    indentation and four spaces (or a tab)."""
    found = list(_command_lines(st))
    if found:
        return _indent_of(st.inst.lines[found[-1] if last else found[0]].content)
    others = [_indent_of(st.inst.lines[i].content) for i in _code_lines(st)[1:]]
    if last and others:
        return min(others, key=len)
    tab = any(i.startswith("\t") for i in others)
    return indentation(st.inst) + ("\t" if tab else "    ")


# --------------------------------------------------------------------------------------------
# a planned change of one RUN, proved before it becomes an edit


class Plan:
    """Changes to one RUN's script, and the commands the script must run once they are made.

    Each method returns False (and the plan must be dropped) when its change cannot be made
    exactly.
    """

    def __init__(self, st: ScriptText) -> None:
        self.st = st
        self.changes: list[Change] = []
        self.commands: list[tuple[tuple[str, ...], tuple[str, ...]] | None] = list(
            argvs(st.run.script)
        )
        self.head: Argvs = []
        self.tail: Argvs = []
        self._touched: set[int] = set()

    def _position(self, cmd: SimpleCommand) -> int | None:
        found = next((i for i, c in enumerate(self.st.run.script.commands) if c is cmd), None)
        if found is None or found in self._touched:
            return None
        self._touched.add(found)
        return found

    def insert(self, cmd: SimpleCommand, index: int | None, words: tuple[str, ...]) -> bool:
        """Put ``words`` right after ``cmd.argv[index]``, on its line."""
        span = None if index is None else plain_word(self.st, cmd, index)
        position = self._position(cmd)
        if index is None or span is None or position is None:
            return False
        if any(_PLAIN.match(w) is None for w in words):
            return False
        argv = cmd.argv[: index + 1] + words + cmd.argv[index + 1 :]
        self.commands[position] = (argv, cmd.context)
        self.changes.append(Change(span[1], span[1], "".join(f" {w}" for w in words)))
        return True

    def replace(self, cmd: SimpleCommand, index: int | None, word: str) -> bool:
        """Write ``word`` instead of ``cmd.argv[index]``."""
        span = None if index is None else plain_word(self.st, cmd, index)
        position = self._position(cmd)
        if index is None or span is None or position is None or _PLAIN.match(word) is None:
            return False
        self.commands[position] = ((*cmd.argv[:index], word, *cmd.argv[index + 1 :]), cmd.context)
        self.changes.append(Change(span[0], span[1], word))
        return True

    def rewrite(self, cmd: SimpleCommand, words: Mapping[int, tuple[str, ...]]) -> bool:
        """Write ``words[i]`` instead of ``cmd.argv[i]`` for each ``i``; an empty tuple takes
        the word out, with the blanks before it on its line."""
        position = self._position(cmd)
        if position is None or not words:
            return False
        changes: list[Change] = []
        for index, new in words.items():
            span = plain_word(self.st, cmd, index)
            if span is None or any(_PLAIN.match(w) is None for w in new):
                return False
            start, end = span
            if not new:
                piece = next((p for p in self.st.pieces if p.start <= start < p.end), None)
                blank = start
                while (
                    piece is not None and blank > piece.start and self.st.script[blank - 1] in " \t"
                ):
                    blank -= 1
                if piece is None or blank == start:
                    return False  # the word starts its line: removing it would join lines
                start = blank
            changes.append(Change(start, end, " ".join(new)))
        argv: list[str] = []
        for index, word in enumerate(cmd.argv):
            argv.extend(words.get(index, (word,)))
        self.commands[position] = (tuple(argv), cmd.context)
        self.changes.extend(changes)
        return True

    def remove(self, cmd: SimpleCommand) -> bool:
        """Take ``cmd`` and the ``&&``, ``;`` or line break after it out of the script.

        Only where the rest runs as before: the command is at top level, the one before it
        (if any) ends with ``&&``, ``;`` or a line break, and it is followed by one of those
        and more.
        """
        position = self._position(cmd)
        if position is None or not located(cmd) or cmd.context or cmd.negated:
            return False
        before = [c for c in self.st.run.script.commands[:position] if not c.parent]
        if before and (before[-1].context or before[-1].connector not in ("&&", ";", "\n")):
            return False
        between = self.st.script[before[-1].end : cmd.start] if before else ""
        if between.strip() not in ("", "&&", ";"):
            return False  # a compound command ends in between (`fi ||`, `done |`)
        rest = self.st.script[cmd.end :]
        found = _SEPARATOR.match(rest)
        if found is None or found.end() == len(rest) or cmd.connector != found.group(1):
            return False
        cuts = self._removal(cmd, cmd.end + found.end())
        if cuts is None:
            return False
        self.commands[position] = None
        self.changes.extend(cuts)
        return True

    def _removal(self, cmd: SimpleCommand, end: int) -> list[Change] | None:
        """How to cut script ``cmd.start:end`` (the command and its separator) so that the
        other lines stay as they are.

        Within one line: the range. A command alone on a continuation line (with its ``&&``
        before or after it): that whole line. A command at the end of a line with more on it
        (``RUN apk update && \\``): up to the line's end, and a leading ``&&`` of the next
        line, which is kept otherwise.
        """
        st = self.st
        pieces = st.pieces
        start = cmd.start
        first = next((i for i, p in enumerate(pieces) if p.start <= start < p.end), None)
        if first is None:
            return None
        piece = pieces[first]
        if end <= piece.end or st.body:
            return [Change(start, end, "")]
        following = pieces[first + 1] if first + 1 < len(pieces) else None
        if following is None or not following.start < end <= following.end:
            return None
        if cmd.end > piece.end:
            return None  # the command itself goes on on the next line
        before = st.script[piece.start : start].strip()
        ends_here = st.script[cmd.end : piece.end].strip() in ("&&", ";")
        if first > 0 and before in ("", "&&", ";") and (before == "") == ends_here:
            return [Change(piece.start, following.start, "", after=False, end_after=False)]
        if ends_here:
            return [Change(start, piece.end, "")]
        lead = st.script[following.start : end]
        if lead.strip() not in ("&&", ";"):
            return None
        blank = len(lead) - len(lead.lstrip())
        return [Change(start, piece.end, ""), Change(following.start + blank, end, "")]

    def append(self, command: str, argv: tuple[str, ...]) -> bool:
        """End the script with ``&& command``, on a line of its own when the RUN has several.

        The exit status stays: the command runs only when the script so far succeeded, and
        it is a cleanup that succeeds itself.
        """
        st = self.st
        top = [c for c in st.run.script.commands if not c.parent and not c.context]
        end = len(st.script.rstrip())
        if not st.whole or end == 0 or (top and top[-1].name in _NO_RETURN):
            return False
        if st.script[end - 1] in "&;|":
            return False  # `cmd &`, `cmd;`: `&&` cannot follow
        if st.body or len(_code_lines(st)) == 1:
            text = f" && {command}"
        elif _leading_operators(st):
            text = f" {st.escape}\n{_continuation_indent(st, last=True)}&& {command}"
        else:
            text = f" && {st.escape}\n{_continuation_indent(st, last=True)}{command}"
        self.changes.append(Change(end, end, text))
        self.tail.append((argv, ()))
        return True

    def prepend(self, command: str, argv: tuple[str, ...]) -> bool:
        """Start the script with ``command && \\``, the script going on on the next line.

        Only before a plain chain (see :func:`plain_chain`), so the script still fails when
        the new command fails and otherwise runs as before.
        """
        st = self.st
        if st.body or not st.whole or not plain_chain(st.run.script):
            return False
        first = _code_lines(st)[0]
        if first != 0:  # `RUN \` and the script below: both lines get its indentation
            indent = _indent_of(st.inst.lines[first].content)
        else:
            indent = _continuation_indent(st, last=False)
        if _leading_operators(st):
            text = f"{command} {st.escape}\n{indent}&& "
        else:
            text = f"{command} && {st.escape}\n{indent}"
        self.changes.append(Change(0, 0, text, after=False))
        self.head.append((argv, ()))
        return True

    def edit(self) -> Edit | None:
        expected = [*self.head, *(c for c in self.commands if c is not None), *self.tail]
        return edit_of(self.st, self.changes, expected)

    def fix(self, description: str, *more: Edit) -> Fix | None:
        edit = self.edit()
        return None if edit is None else Fix((*more, edit), description)


def plan(ctx: DockerfileContext, run: Run) -> Plan | None:
    """A plan for changing ``run``, when it is written for a POSIX shell and located."""
    if not _posix_shell(ctx, run):
        return None
    st = script_text(run, ctx.tree.escape)
    return None if st is None else Plan(st)


def _posix_shell(ctx: DockerfileContext, run: Run) -> bool:
    """Every SHELL instruction of the RUN's stage chain names a POSIX-style shell."""
    other = ctx.build.chain_flags("other SHELL", lambda s: any(map(_not_posix, s.instructions)))
    return not other[run.stage.index]


def _not_posix(inst: Instruction) -> bool:
    eff = inst.effective
    if eff.name != "SHELL":
        return False
    program = eff.values[0].replace("\\", "/").rsplit("/", 1)[-1] if eff.values else ""
    return program not in SHELLS


def plain_chain(script: ShellScript) -> bool:
    """Only simple commands joined by ``&&`` and pipes: ``update && <script>`` fails when
    the update fails, and otherwise runs the script as before."""
    for cmd in script.commands:
        if cmd.parent:
            continue  # inside a word of a top-level command ($(...), sh -c '...')
        if cmd.context or cmd.connector not in _CHAIN:
            return False
    return bool(script.commands)


def same_user(cmd: SimpleCommand) -> bool:
    """The command runs as the RUN's user, in its filesystem (no sudo, su, chroot): a cleanup
    after it can run as it is."""
    return located(cmd) and all(w.split()[0] in _SAME_USER for w in cmd.wrappers if w)


# --------------------------------------------------------------------------------------------
# the fixes


@fix_builder
def words_fix(
    ctx: DockerfileContext,
    run: Run,
    cmd: SimpleCommand,
    index: int | None,
    words: tuple[str, ...],
    description: str,
) -> Fix | None:
    """Put ``words`` right after ``cmd.argv[index]``."""
    found = plan(ctx, run)
    if found is None or not found.insert(cmd, index, words):
        return None
    return found.fix(description)


@fix_builder
def word_fix(
    ctx: DockerfileContext, run: Run, cmd: SimpleCommand, index: int | None, word: str,
    description: str,
) -> Fix | None:  # fmt: skip
    """Write ``word`` instead of ``cmd.argv[index]``."""
    found = plan(ctx, run)
    if found is None or not found.replace(cmd, index, word):
        return None
    return found.fix(description)


@fix_builder
def cleanup_fix(
    ctx: DockerfileContext, run: Run, writer: SimpleCommand, command: str, description: str
) -> Fix | None:
    """End the RUN with ``&& command``, which removes what ``writer`` left."""
    found = plan(ctx, run)
    if found is None or not same_user(writer) or not found.append(command, tuple(command.split())):
        return None
    return found.fix(description)


@fix_builder
def apk_fix(ctx: DockerfileContext, run: Run, op: PackageOperation) -> Fix | None:
    """``apk add --no-cache``; an ``apk update`` before adds is dropped, the adds get it."""
    if op.action in ("install", "upgrade"):
        if op.has("--cache-dir", "--cache-max-age"):
            return None  # a cache asked for: --no-cache would contradict it
        return words_fix(ctx, run, op.command, subcommand_index(op), ("--no-cache",),
                         f"`{op.command.name} {op.subcommand} --no-cache`")  # fmt: skip
    found = plan(ctx, run)
    if op.action != "update" or found is None or _later_apk_reads_index(ctx, run):
        return None
    later = [o for o in run.operations.packages if o.command.start > op.command.start]
    if not _fresh_index(found, later) or not found.remove(op.command):
        return None
    return found.fix("drop `apk update`: `apk add --no-cache` fetches a fresh index")


def _fresh_index(found: Plan, ops: Sequence[PackageOperation]) -> bool:
    """Give the apk adds of ``ops`` ``--no-cache``, so that they fetch the index themselves
    (an ``apk update`` before them is not needed). False when some apk command still needs
    an index on disk (search, fetch, info, ``--no-network``) or there is no add."""
    mine = [o for o in ops if o.manager == "apk"]
    adds = [o for o in mine if o.action in ("install", "upgrade")]
    if not adds or any(o.action not in ("install", "upgrade", "remove") for o in mine):
        return False
    if any(o.has("--no-network") for o in adds):
        return False
    return all(
        o.has("--no-cache") or found.insert(o.command, subcommand_index(o), ("--no-cache",))
        for o in adds
    )


@fix_builder
def merge_update_fix(
    ctx: DockerfileContext,
    runs: Sequence[Run],
    run: Run,
    op: PackageOperation,
    prepared: Callable[[PackageOperation], bool],
) -> Fix | None:
    """A RUN that is only an index update, merged into the next RUN, which installs.

    ``apk update`` is not merged but deleted, the next RUN's adds getting ``--no-cache``.
    ``prepared`` tells the operations the update is for (installs of the same family). The
    next RUN must follow directly (nothing in between may change what the update sees), and
    be a plain ``&&`` chain, so that ``update && <its script>`` fails when the update fails
    and otherwise runs as before. When that RUN starts with the same update, the lone one
    is only deleted.
    """
    inst = run.instruction
    eff = inst.effective
    cmd = op.command
    commands = run.script.commands
    if eff.flags or eff.heredocs or len(commands) != 1 or commands[0] is not cmd:
        return None
    if not located(cmd) or cmd.context or cmd.negated or cmd.connector not in (None, "\n"):
        return None
    if not run.script.parsed_exactly or not eff.values:
        return None
    nxt = _next_run(runs, run)
    if nxt is None:
        return None
    following = nxt.instruction
    flags = following.effective.flags
    if following.name != inst.name or any(not f.startswith("--mount=") for f in flags):
        return None
    if not any(prepared(o) and not o.command.parent and not o.command.context
               for o in nxt.operations.packages):  # fmt: skip
        return None
    delete = Edit(inst.start_line, inst.end_line, "")
    if op.manager == "apk":
        return _apk_merge(ctx, nxt, delete)
    first = nxt.script.commands[0] if nxt.script.commands else None
    if first is not None and first.argv == cmd.argv and plain_chain(nxt.script):
        return Fix((delete,), f"drop this `{_shown(cmd)}`: the next RUN starts with it")
    found = plan(ctx, nxt)
    if found is None or not found.prepend(eff.values[0].strip(), cmd.argv):
        return None
    return found.fix(f"merge `{_shown(cmd)}` into the next RUN", delete)


def _apk_merge(ctx: DockerfileContext, nxt: Run, delete: Edit) -> Fix | None:
    """A lone ``apk update`` before a RUN that adds: deleted, the adds get ``--no-cache``."""
    found = plan(ctx, nxt)
    if found is None or _later_apk_reads_index(ctx, nxt):
        return None
    if not _fresh_index(found, nxt.operations.packages):
        return None
    description = "drop `apk update`: `apk add --no-cache` in the next RUN fetches a fresh index"
    if not found.changes:
        return Fix((delete,), description)
    return found.fix(description, delete)


def _shown(cmd: SimpleCommand) -> str:
    return " ".join(cmd.argv[:2])


def _next_run(runs: Sequence[Run], run: Run) -> Run | None:
    """The RUN right after ``run``'s instruction in its stage (one script), if it is one."""
    instructions = run.stage.instructions
    position = next((i for i, x in enumerate(instructions) if x is run.instruction), None)
    if position is None or position + 1 >= len(instructions):
        return None
    following = instructions[position + 1]
    found = [r for r in runs if r.instruction is following]
    if len(found) != 1 or following.effective.heredocs:
        return None
    return found[0]


def _later_runs(ctx: DockerfileContext, run: Run) -> Iterator[Run]:
    """The RUNs that start from what ``run`` leaves: after it in its stage (ONBUILD ones
    included), and in the stages built FROM it."""
    found = analysis(ctx)
    order = {id(inst): i for i, inst in enumerate(run.stage.instructions)}
    here = order.get(id(run.instruction), -1)
    below = {run.stage.index}  # the stages built on run's, found in one pass in file order
    for stage in ctx.build.stages[run.stage.index + 1 :]:
        base = base_of(stage)
        if base is not None and base in below:
            below.add(stage.index)
    for other in found.runs:
        if other.instruction is run.instruction:
            continue
        if other.stage is run.stage:
            position = order.get(id(other.instruction), -1)
            onbuild = other.instruction.name == "ONBUILD" and run.instruction.name != "ONBUILD"
            if position > here or onbuild:
                yield other
        elif other.stage.index in below:
            yield other


def _later_apk_reads_index(ctx: DockerfileContext, run: Run) -> bool:
    """A later RUN runs apk without ``--no-cache``: it reads the index an ``apk update``
    leaves on disk, so that update must stay (until that RUN gets ``--no-cache`` too)."""
    return any(
        o.manager == "apk" and o.action != "update" and not o.has("--no-cache")
        for other in _later_runs(ctx, run)
        for o in other.operations.packages
    )


def _reads_lists(run: Run) -> bool:
    """The RUN uses apt's package lists without downloading them first."""
    updated = min((o.command.start for o in run.operations.packages
                   if o.manager in APT and o.action == "update"), default=None)  # fmt: skip
    for cmd in run.script.commands:
        if cmd.name in ("apt-cache", "apt-file") and (updated is None or cmd.start < updated):
            return True
    return any(
        o.manager in APT
        and o.action not in ("update", "remove", "clean", "mark")
        and (updated is None or o.command.start < updated)
        for o in run.operations.packages
    )


def apt_lists_read_later(ctx: DockerfileContext, run: Run) -> bool:
    """A later RUN installs with the lists this one leaves: removing them would break it."""
    return any(_reads_lists(other) for other in _later_runs(ctx, run))
