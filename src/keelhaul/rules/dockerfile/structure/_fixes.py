"""Fixes of the structure and style rules: keyword casing, exec form, merged RUNs, pipefail.

Every fix here proves that it keeps the meaning before it offers itself: the changed text is
parsed again (BuildKit's Dockerfile parser, then the shell parser for scripts) and compared with
what the original said, minus the one intended change. When the proof fails, there is no fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from keelhaul.dockerfile.edits import indentation, line_ending, replace_instruction
from keelhaul.dockerfile.shell import ShellScript, SimpleCommand, parse_shell
from keelhaul.dockerfile.stages import Build, Stage
from keelhaul.dockerfile.syntax import Instruction, Line, LineRole, Span, parse
from keelhaul.findings import Edit, Fix, Safety
from keelhaul.rules.dockerfile.shared.distroless import after_entrypoint, entrypoint
from keelhaul.rules.dockerfile.shared.images import image_name
from keelhaul.rules.registry import fix_builder

# --------------------------------------------------------------------------------------------
# small helpers


def _ending(line: Line) -> str:
    text = line.text
    return "\r\n" if text.endswith("\r\n") else "\n" if text.endswith("\n") else ""


def _reparsed(text: str) -> Instruction | None:
    """The one instruction ``text`` holds, as BuildKit's parser reads it; None on errors."""
    tree = parse(text)
    if tree.errors or len(tree.instructions) != 1:
        return None
    return tree.instructions[0]


def _line(inst: Instruction, number: int) -> Line | None:
    return next((line for line in inst.lines if line.number == number), None)


def _shape(script: ShellScript) -> list[tuple[object, ...]]:
    """What a script runs, command by command (the text positions left out)."""
    return [
        (c.words, c.env, c.context, c.redirects, c.negated, c.parent, c.connector)
        for c in script.commands
    ]


# --------------------------------------------------------------------------------------------
# keyword casing (KH141, KH140) and EXPOSE protocols (KH132)


def recase_keyword(inst: Instruction, case: Callable[[str], str]) -> Fix | None:
    """The instruction's keyword (ONBUILD for a trigger) in ``case``; only that word changes."""
    first = inst.lines[0]
    start = len(first.text) - len(first.text.lstrip(" \t"))
    end = start + len(inst.keyword)
    if first.text[start:end] != inst.keyword:
        return None
    new = first.text[:start] + case(inst.keyword) + first.text[end:]
    if inst.sub is not None:  # ONBUILD run ...: the trigger's keyword too, when on that line
        inner = re.match(r"[ \t]+", new[end:])
        at = end + (inner.end() if inner else 0)
        if inner and new[at : at + len(inst.sub.keyword)] == inst.sub.keyword:
            sub = case(inst.sub.keyword)
            new = new[:at] + sub + new[at + len(inst.sub.keyword) :]
    after = _reparsed("".join(new if ln is first else ln.text for ln in inst.lines))
    if after is None or after.keyword != case(inst.keyword) or after.values != inst.values:
        return None
    return Fix((Edit(first.number, first.number, new),), f"write {case(inst.keyword)}")


def recase_word(inst: Instruction, index: int, word: str) -> Fix | None:
    """``inst.values[index]`` becomes ``word`` (the same word in another case).

    Tried at each place the old word stands as a whole word; kept where the instruction then
    parses to the same values but that one.
    """
    values = list(inst.values)
    if not 0 <= index < len(values) or values[index].lower() != word.lower():
        return None
    expected = [*values[:index], word, *values[index + 1 :]]
    pattern = re.compile(rf"(?<!\S){re.escape(values[index])}(?!\S)")
    for line in inst.lines:
        if line.role is not LineRole.CODE:
            continue
        for m in pattern.finditer(line.content):
            new = line.text[: m.start()] + word + line.text[m.end() :]
            after = _reparsed("".join(new if ln is line else ln.text for ln in inst.lines))
            if after is not None and after.name == inst.name and list(after.values) == expected:
                return Fix((Edit(line.number, line.number, new),), f"write {word}")
    return None


# --------------------------------------------------------------------------------------------
# shell form to exec form (KH113)

#: Characters a word may hold unquoted and still be the same word to every POSIX shell: no
#: expansion ($ ` ~ * ? [ { }), no operator (| & ; < > ( )), no comment (#), no escape.
_PLAIN = re.compile(r"[A-Za-z0-9_\-./:=,@+%^]+")
#: Quoted parts whose content the shell keeps as is.
_SINGLE = re.compile(r"'[^']*'")
_DOUBLE = re.compile(r'"[^"$`\\!]*"')
#: First words that are not programs: keywords and builtins that exec cannot run.
_NOT_PROGRAMS = frozenset(
    [
        "!",
        "{",
        "}",
        "[[",
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "case",
        "esac",
        "for",
        "while",
        "until",
        "do",
        "done",
        "function",
        "select",
        "time",
        "cd",
        "export",
        "set",
        "unset",
        "source",
        ".",
        "exit",
        "return",
        "eval",
        "alias",
        "unalias",
        "ulimit",
        "umask",
        "trap",
        "wait",
        "read",
        "shift",
        "readonly",
        "local",
        "declare",
        "typeset",
        "builtin",
        "command",
        ":",
        "break",
        "continue",
        "getopts",
        "hash",
        "type",
        "let",
        "times",
        "jobs",
        "fg",
        "bg",
        "exec",
    ]
)


def _words(command: str) -> list[str] | None:
    """The shell words of ``command`` when it is plain words, optionally quoted; else None."""
    words: list[str] = []
    pos, n = 0, len(command)
    while pos < n:
        if command[pos] in " \t":
            pos += 1
            continue
        word = []
        while pos < n and command[pos] not in " \t":
            for pattern, strip in ((_PLAIN, 0), (_SINGLE, 1), (_DOUBLE, 1)):
                m = pattern.match(command, pos)
                if m:
                    text = m.group()
                    word.append(text[strip : len(text) - strip])
                    pos = m.end()
                    break
            else:
                return None
        words.append("".join(word))
    return words


def _has_entrypoint(stage: Stage) -> bool:
    return any(i.name == "ENTRYPOINT" for i in stage.instructions)


def _has_exec_entrypoint(stage: Stage) -> bool:
    return any(i.name == "ENTRYPOINT" and i.json for i in stage.instructions)


@fix_builder
def exec_form_fix(inst: Instruction, build: Build, stage: Stage) -> Fix | None:
    """``CMD node server.js`` -> ``CMD ["node", "server.js"]`` when the split is certain.

    The argv of the JSON form must be the shell's word splitting of the original command (as
    parse_shell reads it, ``exec`` dropped). A CMD is safe unless an ENTRYPOINT in the stage
    chain receives it (then the ENTRYPOINT gets the program instead of ``/bin/sh -c ...``); an
    ENTRYPOINT is never safe (``docker run`` arguments then reach it) and gets no fix at all
    when the stage sets a CMD (which would become its arguments).
    """
    if inst.sub is not None or inst.json or inst.heredocs or len(inst.values) != 1:
        return None
    if any(line.role is not LineRole.CODE for line in inst.lines):
        return None  # comment lines inside the instruction: not rewritten away
    root = build.root(stage).base.lower()
    if any(w in root for w in ("windows", "nanoserver", "servercore")):
        return None  # cmd /S /C splits words its own way
    command = inst.values[0]
    words = _words(command)
    if not words:
        return None
    argv = words[1:] if words[0] == "exec" else words
    if not argv or argv[0] in _NOT_PROGRAMS or argv[0].startswith("-") or "=" in argv[0]:
        return None
    script = parse_shell(command)
    top = [c for c in script.commands if not c.parent]  # not the words of an `sh -c` string
    if not script.parsed_exactly or len(top) != 1:
        return None
    cmd = top[0]
    if cmd.words != tuple(words) or cmd.env or cmd.redirects or cmd.context or cmd.negated:
        return None
    if inst.name == "CMD" and not build.chain_flags("ENTRYPOINT", _has_entrypoint)[stage.index]:
        # a distroless nodejs/python3/java base runs its interpreter: the CMD is its arguments
        found = after_entrypoint(build.root(stage).base, argv)
        if found is None:
            return None
        argv = found
    body = f"{inst.keyword} {json.dumps(argv, ensure_ascii=False)}"
    after = _reparsed(body + "\n")
    if after is None or not after.json or list(after.values) != argv:
        return None
    edit = replace_instruction(inst, body)
    description = f"exec form {inst.name} {after.args}"
    if inst.name == "ENTRYPOINT":
        if any(i.name == "CMD" for i in stage.instructions):
            return None  # the CMD would become the ENTRYPOINT's arguments
        return Fix((edit,), description, Safety.UNSAFE,
                   "arguments given to `docker run` now reach the program instead of being "
                   "ignored")  # fmt: skip
    if build.chain_flags("exec-form ENTRYPOINT", _has_exec_entrypoint)[stage.index]:
        return Fix((edit,), description, Safety.UNSAFE,
                   "the stage's ENTRYPOINT gets the program and its arguments instead of "
                   "`/bin/sh -c '...'`")  # fmt: skip
    origin = build.root(stage)
    if not origin.is_scratch and not entrypoint(origin.base) and not _passes_commands(origin.base):
        return Fix((edit,), description, Safety.UNSAFE,
                   f"the ENTRYPOINT of {origin.base}, if it has one (keelhaul cannot see it), gets "
                   "the program and its arguments instead of `/bin/sh -c '...'`; some start "
                   "other things then (nginx's runs its templates, redis's drops to its "
                   "user)")  # fmt: skip
    return Fix((edit,), description)


#: Official images with no ENTRYPOINT, or one that runs any command it is given as it is
#: (node's, php's: they put the interpreter first only for an option or a non-command), so
#: a CMD reaches the program alike in both forms. Entrypoints that dispatch on their first
#: argument (nginx, redis, postgres, mysql, httpd...) are not here.
_PASS_THROUGH = frozenset({
    "debian", "ubuntu", "alpine", "busybox", "fedora", "centos", "rockylinux", "almalinux",
    "amazonlinux", "oraclelinux", "archlinux", "python", "golang", "rust", "openjdk",
    "eclipse-temurin", "amazoncorretto", "ibm-semeru-runtimes", "node", "php", "ruby", "perl",
    "gcc", "buildpack-deps", "erlang", "elixir", "haskell", "swift", "julia", "dart",
})  # fmt: skip


def _passes_commands(base: str) -> bool:
    """The image is known to have no ENTRYPOINT or one that passes commands through."""
    lowered = base.lower()
    return image_name(lowered) in _PASS_THROUGH or "gcr.io/distroless/" in lowered


# --------------------------------------------------------------------------------------------
# where a RUN's script starts

_RUN_PREFIX = re.compile(r"[ \t]*(?:onbuild[ \t]+)?run(?:[ \t]+--\S+)*(?:[ \t]+|\Z)", re.I)


def script_start(inst: Instruction, escape: str = "\\") -> tuple[Line, int] | None:
    """The line and 0-based column where a shell-form RUN's script begins."""
    code = [line for line in inst.lines if line.role is LineRole.CODE]
    if not code:
        return None
    first = code[0]
    m = _RUN_PREFIX.match(first.content)
    if m is None:
        return None
    rest = first.content[m.end() :]
    if rest.strip() and rest.strip() != escape:
        return first, m.end()
    if len(code) < 2:
        return None
    line = code[1]
    return line, len(line.content) - len(line.content.lstrip(" \t"))


def _script(inst: Instruction) -> str | None:
    if inst.name != "RUN" or inst.json or inst.heredocs or len(inst.values) != 1:
        return None
    return inst.values[0]


# --------------------------------------------------------------------------------------------
# pipefail (KH185)

SHELL_PIPEFAIL = 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]'
#: Every pipefail fix may stop a build that passed: that is its point.
PIPEFAIL_WHY = (
    "the RUN fails when any command of a pipe fails: a hidden failure now stops the build, "
    "and so does a producer cut off early (`head`, `grep -q`) or a `grep` that matches nothing"
)
#: Images whose every variant but Alpine's is Debian or Ubuntu based, with bash installed.
_BASH_IMAGES = frozenset({"debian", "ubuntu", "python", "node", "buildpack-deps", "golang",
                          "rust", "ruby", "openjdk", "eclipse-temurin", "maven", "gradle",
                          "php", "perl"})  # fmt: skip
_NOT_BASH = ("alpine", "busybox", "distroless", "scratch", "windows", "nanoserver", "servercore",
             "chainguard", "wolfi", "musl")  # fmt: skip
#: Shells that run `set -o pipefail`.
_PIPEFAIL_SHELLS = frozenset({"bash", "zsh", "ksh", "mksh", "ash"})
#: Instructions that run in the SHELL set before them, in shell form.
_SHELL_USERS = frozenset({"RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK"})


def has_bash(base: str) -> bool:
    """Whether the image ``base`` (a FROM reference, lower case) is known to ship bash."""
    return image_name(base) in _BASH_IMAGES and not any(w in base for w in _NOT_BASH)


def _uses_shell(inst: Instruction) -> bool:
    eff = inst.effective
    if inst.sub is not None:
        return True  # runs in images built FROM this one, under their SHELL: unknown
    if eff.name == "HEALTHCHECK":
        return bool(eff.values) and eff.values[0].upper() == "CMD-SHELL"
    return eff.name in _SHELL_USERS and not eff.json


@fix_builder
def pipefail_fix(
    inst: Instruction, build: Build, stage: Stage, shell: tuple[str, ...] | None, escape: str
) -> Fix | None:
    """``set -o pipefail &&`` before the script where the shell has it (bash, busybox ash),
    else a ``SHELL ["/bin/bash", "-o", "pipefail", "-c"]`` line before the RUN where bash is
    known to exist and the stage has no SHELL yet."""
    script = _script(inst)
    if script is None or inst.sub is not None or escape != "\\":
        return None
    base = build.root(stage).base.lower()
    program = shell[0].rsplit("/", 1)[-1] if shell else ""
    alpine = "alpine" in base or "busybox" in image_name(base)
    if program in _PIPEFAIL_SHELLS or (alpine and program in ("", "sh")):
        return _prefix_pipefail(inst, script)
    if shell is not None or not has_bash(base):
        return None
    return _shell_line(inst, build, stage)


def _prefix_pipefail(inst: Instruction, script: str) -> Fix | None:
    start = script_start(inst)
    if start is None:
        return None
    line, column = start
    prefix = "set -o pipefail && "
    new = line.text[:column] + prefix + line.text[column:]
    lines = [new if ln.number == line.number else ln.text for ln in inst.lines]
    after = _reparsed("".join(lines))
    if after is None or _script(after) is None or after.flags != inst.flags:
        return None
    old, now = parse_shell(script), parse_shell(after.values[0])
    if not (old.parsed_exactly and now.parsed_exactly) or not now.commands:
        return None
    head = now.commands[0]
    if head.words != ("set", "-o", "pipefail") or head.connector != "&&":
        return None
    if _shape(now)[1:] != _shape(old):
        return None
    return Fix((Edit(line.number, line.number, new),), "start the RUN with `set -o pipefail &&`",
               Safety.UNSAFE, PIPEFAIL_WHY)  # fmt: skip


def _shell_line(inst: Instruction, build: Build, stage: Stage) -> Fix | None:
    first = inst.lines[0]
    edit = Edit(inst.start_line, inst.start_line - 1,
                indentation(inst) + SHELL_PIPEFAIL + (_ending(first) or "\n"))  # fmt: skip
    later = [i for i in stage.instructions if i.start_line > inst.end_line and _uses_shell(i)]
    children = [s for s in build.stages if s.base_stage == stage.index and s.index > stage.index]
    description = "run the stage's shell commands with bash and pipefail from here on"
    if later or children:
        return Fix((edit,), description, Safety.UNSAFE,
                   "later RUN, CMD or ENTRYPOINT instructions (or stages built on this one) run "
                   "under bash with pipefail too")  # fmt: skip
    if any(
        c.name == "echo" and any("\\" in a for a in c.args) for c in parse_shell(inst.values[0])
    ):
        return Fix((edit,), description, Safety.UNSAFE,
                   "bash's echo does not interpret backslashes as dash's does")  # fmt: skip
    return Fix((edit,), description, Safety.UNSAFE, PIPEFAIL_WHY)


# --------------------------------------------------------------------------------------------
# wget --progress (KH188)

_WGET = re.compile(r"(?:\A|/)wget\Z")


@fix_builder
def wget_progress_fix(
    inst: Instruction, span: Span | None, cmd: SimpleCommand, escape: str
) -> Fix | None:
    """``wget URL`` -> ``wget --progress=dot:giga URL`` (the word goes right after wget)."""
    script = _script(inst.effective)
    if script is None or span is None or span.line != span.end_line or escape != "\\":
        return None
    line = _line(inst, span.line)
    if line is None or not _WGET.search(line.text[span.column - 1 : span.end_column - 1]):
        return None
    at = span.end_column - 1
    new = line.text[:at] + " --progress=dot:giga" + line.text[at:]
    lines = [new if ln.number == line.number else ln.text for ln in inst.lines]
    after = _reparsed("".join(lines))
    if after is None or _script(after.effective) is None:
        return None
    old, now = parse_shell(script), parse_shell(after.effective.values[0])
    if not (old.parsed_exactly and now.parsed_exactly) or len(old.commands) != len(now.commands):
        return None
    at_cmd = [i for i, c in enumerate(old.commands) if c.start == cmd.start]
    if len(at_cmd) != 1:
        return None
    index = at_cmd[0]
    words = old.commands[index].words
    head = len(words) - len(cmd.argv)
    shape = _shape(old)
    shape[index] = ((*words[: head + 1], "--progress=dot:giga", *words[head + 1 :]),
                    *shape[index][1:])  # fmt: skip
    if _shape(now) != shape:
        return None
    return Fix((Edit(line.number, line.number, new),), "add --progress=dot:giga to wget")


# --------------------------------------------------------------------------------------------
# merging consecutive RUNs (KH180)

#: Commands whose effect carries over to the next command of the same shell: after a merge
#: they would reach the commands of the next RUN, which started afresh before.
_STATEFUL = frozenset(
    [
        "cd",
        "pushd",
        "popd",
        "set",
        "shopt",
        "export",
        "unset",
        "umask",
        "trap",
        "alias",
        "unalias",
        "source",
        ".",
        "exit",
        "exec",
        "return",
        "readonly",
        "declare",
        "typeset",
        "local",
        "ulimit",
        "hash",
        "enable",
        "eval",
        "builtin",
        "shift",
    ]
)


def _top(cmd: SimpleCommand) -> bool:
    return not cmd.context and not cmd.parent


def _leaks(script: ShellScript, later: Sequence[str]) -> bool:
    """Whether a command of ``script`` changes the shell itself (directory, options,
    variables, functions) or runs in the background, so that a command of the ``later``
    scripts would notice."""
    for cmd in script.commands:
        if cmd.parent or "subshell" in cmd.context or "substitution" in cmd.context:
            continue
        if cmd.name == "set" and not cmd.context and _harmless_set(cmd.args, later):
            continue
        if cmd.name in _STATEFUL or not cmd.argv or "function" in cmd.context:
            return True
        if cmd.connector == "&":
            return True
    return False


def _harmless_set(args: Sequence[str], later: Sequence[str]) -> bool:
    """Whether ``set ARGS`` changes nothing for later scripts that are ``&&`` chains.

    In an ``&&`` chain errexit acts only on the last command, whose failure fails the RUN
    anyway; xtrace and verbose only print. nounset matters only where a variable is read,
    pipefail only where there is a pipe.
    """
    text = " ".join(later)
    allowed = set("exv")
    names = {"errexit", "xtrace", "verbose"}
    if "$" not in text:
        allowed.add("u")
        names.add("nounset")
    if "|" not in text:
        names.add("pipefail")
    expect_name = False
    for arg in args:
        if expect_name:
            if arg not in names:
                return False
            expect_name = False
        elif arg in ("-o", "+o"):
            expect_name = True
        elif arg[:1] in "-+" and len(arg) > 1 and arg[1:].replace("o", "").isalpha():
            expect_name = "o" in arg[1:]
            if not set(arg[1:].replace("o", "")) <= allowed:
                return False
        else:
            return False
    return not expect_name


def _chain_only(script: ShellScript) -> bool:
    """Whether the script is one ``&&`` chain of pipelines: after ``X &&`` it runs only when
    X succeeded and fails when X failed, as a RUN of its own did."""
    for cmd in script.commands:
        if cmd.parent:
            continue
        if cmd.context and set(cmd.context) - {"substitution"}:
            return False
        if not cmd.context and cmd.connector not in (None, "&&", "|", "|&"):
            return False
    return True


@fix_builder
def merge_fix(group: Sequence[Instruction], moved: Sequence[Instruction],
              between: Sequence[Line], escape: str) -> Fix | None:  # fmt: skip
    """One RUN from ``group``: each RUN's text kept as written, joined with `` && \\``.

    Comment lines between the RUNs stay where they are, inside the continued RUN (BuildKit's
    parser drops comment lines in a continuation); blank lines there go (an empty continuation
    line is deprecated); the metadata instructions ``moved`` (with the comments right above
    them) follow the merged RUN. No fix when a RUN but the last changes the shell's state
    (cd, set, export...), runs something in the background, or when a RUN but the first is more
    than a chain of ``&&`` (``a; b`` after ``X &&`` would run ``b`` even when X failed).
    """
    if escape != "\\" or len(group) < 2:
        return None
    scripts = [_script(inst) for inst in group]
    if any(s is None for s in scripts) or any(i.flags != group[0].flags for i in group):
        return None
    parsed = [parse_shell(s) for s in scripts if s is not None]
    if not all(p.parsed_exactly and p.commands for p in parsed):
        return None
    later = [s or "" for s in scripts]
    if any(_leaks(p, later[i + 1 :]) for i, p in enumerate(parsed[:-1])):
        return None
    if not all(_chain_only(p) for p in parsed[1:]):
        return None
    for p, script in zip(parsed[:-1], scripts[:-1], strict=True):
        last = p.commands[-1]
        if not _top(last) or last.connector is not None or (script or "").rstrip().endswith(";"):
            return None
    text = _merged_text(group, moved, between)
    if text is None:
        return None
    first = _reparsed(text.split("\x00", 1)[0])
    if first is None or _script(first) is None or first.flags != group[0].flags:
        return None
    expected: list[tuple[object, ...]] = []
    for p in parsed:
        if expected:
            expected[-1] = (*expected[-1][:-1], "&&")
        expected.extend(_shape(p))
    if _shape(parse_shell(first.values[0])) != expected:
        return None
    edit = Edit(group[0].start_line, group[-1].end_line, text.replace("\x00", ""))
    return Fix((edit,), f"merge the RUN instructions on lines "
               f"{', '.join(str(i.start_line) for i in group)} into one")  # fmt: skip


def _layout(group: Sequence[Instruction]) -> tuple[str, bool]:
    """The indentation of continuation lines, and whether ``&&`` starts them (else ends them)."""
    cont = [
        line.content
        for inst in group
        for line in inst.lines[1:]
        if line.role is LineRole.CODE and line.content.strip()
    ]
    leading = [c for c in cont if c.lstrip(" \t").startswith(("&&", "||"))]
    if leading:
        return leading[0][: len(leading[0]) - len(leading[0].lstrip(" \t"))], True
    indents = [c[: len(c) - len(c.lstrip(" \t"))] for c in cont]
    indents = [i for i in indents if i]
    if indents:
        return min(indents, key=len), False
    return indentation(group[0]) + "    ", False


def _merged_text(group: Sequence[Instruction], moved: Sequence[Instruction],
                 between: Sequence[Line]) -> str | None:  # fmt: skip
    """The new text of the group's lines: the merged RUN, NUL, then what moves after it."""
    head = group[0]
    cont, leading = _layout(group)
    owned = {line.number for inst in (*group, *moved) for line in inst.lines}
    loose = {line.number: line for line in between if line.number not in owned}
    # Comment lines right above a moved instruction travel with it.
    travels: dict[int, list[Line]] = {}
    for inst in moved:
        above: list[Line] = []
        number = inst.start_line - 1
        while number in loose and loose[number].role is LineRole.COMMENT:
            above.insert(0, loose.pop(number))
            number -= 1
        travels[id(inst)] = above
    if any(line.role not in (LineRole.COMMENT, LineRole.BLANK) for line in loose.values()):
        return None
    out: list[str] = []
    runs = {i.start_line: i for i in group}
    starts = {i.start_line: i for i in moved}
    number = head.start_line
    while number <= group[-1].end_line:
        if number in runs:
            inst = runs[number]
            out.extend(_run_lines(inst, cont, leading, inst is head, inst is group[-1]))
            number = inst.end_line + 1
        elif number in starts:
            number = starts[number].end_line + 1
        elif number in loose:
            if loose[number].role is LineRole.COMMENT:
                out.append(loose[number].text)
            number += 1
        else:
            number += 1  # a comment that travels with a moved instruction
    out.append("\x00")
    for inst in moved:
        out.extend(line.text for line in travels[id(inst)])
        out.extend(line.text for line in inst.lines)
    return "".join(out)


def _run_lines(inst: Instruction, cont: str, leading: bool, first: bool, last: bool) -> list[str]:
    """The RUN's lines inside the merged RUN: its keyword and flags go (but for the first),
    and `` && \\`` ends its last line (but for the last), or ``&& `` starts the next."""
    lines = [line.text for line in inst.lines]
    join = "&& " if leading else ""
    if not first:
        m = _RUN_PREFIX.match(inst.lines[0].content)
        rest = inst.lines[0].content[m.end() :] if m else ""
        if rest.strip() == "\\":
            at = next(i for i, ln in enumerate(inst.lines) if i and ln.role is LineRole.CODE)
            body = lines[at].lstrip(" \t")
            lines[at] = lines[at][: len(lines[at]) - len(body)] + join + body
            lines = lines[1:]
        else:
            lines[0] = cont + join + rest + _ending(inst.lines[0])
    if not last:
        end = line_ending(inst) or "\n"
        tail = " \\" if leading else " && \\"
        lines[-1] = lines[-1][: len(lines[-1]) - len(line_ending(inst))] + tail + end
    return lines
