"""``docker run`` and ``docker create`` command lines read into :class:`ContainerRun` objects.

Where command lines are found: shell scripts, Makefile recipes, CI files (GitHub Actions
``run:`` steps, GitLab CI ``script:``/``before_script:``/``after_script:``) and the shell code
blocks of READMEs (```` ```sh ````, ``bash``, ``shell``, ``console`` fences; in a ``console``
block only the lines after a ``$`` prompt). Each snippet goes through the project's shell parser
(:func:`keelhaul.dockerfile.shell.parse_shell`), so quotes, continuation lines, ``sudo``, ``&&``
chains and ``$(...)`` are understood; a word holding a variable is kept as written.

The flags are read with the docker CLI's grammar (``cli/command/container/opts.go`` and
``run.go``): ``--flag=value`` and ``--flag value``; short flags combined (``-itd``) and with
their value attached (``-p80:80``, ``-eA=b``) or next; boolean flags take no value unless
written ``--flag=true|false``. The first word that is not a flag or a flag's value is the image;
:data:`BOOL_FLAGS` lists the flags without a value, so that a flag keelhaul does not know does
not make it take the next word for the image (an unknown flag is taken to have a value unless
the next word is a flag).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePath

from keelhaul.dockerfile.shell import SimpleCommand, dollar_form, parse_shell
from keelhaul.runtime.model import ContainerRun, EnvVar, Mount, Port, Source, Value, Where
from keelhaul.runtime.yaml_documents import YamlFile, yaml_file
from keelhaul.secrets import is_reference

__all__ = [
    "BOOL_FLAGS",
    "Snippet",
    "commands_in",
    "has_docker_run",
    "read_docker_run",
    "runs_of_argv",
    "snippets",
]

#: Long flags of ``docker run``/``create`` that take no value (opts.go, run.go, create.go).
BOOL_FLAGS = frozenset(
    {
        "detach",
        "interactive",
        "tty",
        "rm",
        "privileged",
        "read-only",
        "init",
        "publish-all",
        "no-healthcheck",
        "oom-kill-disable",
        "sig-proxy",
        "quiet",
        "disable-content-trust",
        "use-api-socket",
        "help",
    }
)
#: One-letter flags: without a value, and with one.
SHORT_BOOL = {"d": "detach", "i": "interactive", "t": "tty", "P": "publish-all", "q": "quiet"}
SHORT_VALUE = {
    "a": "attach",
    "c": "cpu-shares",
    "e": "env",
    "h": "hostname",
    "l": "label",
    "m": "memory",
    "p": "publish",
    "u": "user",
    "v": "volume",
    "w": "workdir",
}
#: Long flags with a value (the ones keelhaul reads, and the rest of opts.go for reference).
VALUE_FLAGS = frozenset(
    {
        "add-host", "annotation", "attach", "blkio-weight", "blkio-weight-device", "cap-add",
        "cap-drop", "cgroup-parent", "cgroupns", "cidfile", "cpu-count", "cpu-percent",
        "cpu-period", "cpu-quota", "cpu-rt-period", "cpu-rt-runtime", "cpu-shares", "cpus",
        "cpuset-cpus", "cpuset-mems", "detach-keys", "device", "device-cgroup-rule",
        "device-read-bps", "device-read-iops", "device-write-bps", "device-write-iops", "dns",
        "dns-opt", "dns-option", "dns-search", "domainname", "entrypoint", "env", "env-file",
        "expose", "gpus", "group-add", "health-cmd", "health-interval", "health-retries",
        "health-start-interval", "health-start-period", "health-timeout", "hostname", "ip",
        "ip6", "ipc", "isolation", "kernel-memory", "label", "label-file", "link",
        "link-local-ip", "log-driver", "log-opt", "mac-address", "memory",
        "memory-reservation", "memory-swap", "memory-swappiness", "mount", "name", "net",
        "net-alias", "network", "network-alias", "oom-score-adj", "pid", "pids-limit",
        "platform", "publish", "pull", "restart", "runtime", "security-opt", "shm-size",
        "stop-signal", "stop-timeout", "storage-opt", "sysctl", "tmpfs", "ulimit", "user",
        "userns", "uts", "volume", "volume-driver", "volumes-from", "workdir", "io-maxbandwidth",
        "io-maxiops",
    }
)  # fmt: skip
#: ``docker`` options before the subcommand that take a value.
GLOBAL_VALUE = frozenset({"-H", "--host", "-c", "--context", "--config", "-l", "--log-level",
                          "--tlscacert", "--tlscert", "--tlskey"})  # fmt: skip
_SUBCOMMANDS = {("run",), ("create",), ("container", "run"), ("container", "create")}


@dataclass(frozen=True)
class Snippet:
    """Shell text found in a file: ``line`` is the file line of its first character,
    ``column`` the file column of its first character (later lines start at column 1 +
    ``indent``, for YAML block scalars whose indentation was removed)."""

    text: str
    line: int
    column: int = 1
    indent: int = 0


@dataclass(frozen=True)
class _Flag:
    name: str
    """The long name without dashes."""
    value: str | None
    where: Where
    form: str | None = None
    """The value as the shell reads it, in :func:`keelhaul.dockerfile.shell.dollar_form`
    (a ``$`` in single quotes written ``$$``); None when the value is not a word's end."""


# --------------------------------------------------------------------------------------------
# finding the shell text in a file

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_SHELL_FENCES = frozenset({"sh", "bash", "shell", "console", "zsh", "shell-session", "terminal"})
#: A shell prompt: ``$ ``, ``user@host:~/x$ ``. Not ``# ``: in a code block that is a comment.
_PROMPT = re.compile(r"^\s*(?:[\w.@~:/-]*)?\$\s+")
_DOCKER_RUN = re.compile(r"\bdocker\s+(?:(?:-\S+\s+(?:\S+\s+)?)*)(?:container\s+)?(?:run|create)\b")


def has_docker_run(text: str) -> bool:
    """A cheap test: could ``text`` hold a ``docker run``/``create`` command?"""
    return "docker" in text and _DOCKER_RUN.search(text) is not None


def kind_of_name(name: str) -> str:
    """How to find shell text in a file, by its name: ``markdown``, ``makefile``,
    ``github-actions``, ``gitlab-ci`` or ``shell``."""
    path = PurePath(name)
    lowered = path.name.lower()
    if lowered.endswith((".md", ".markdown", ".mdx")):
        return "markdown"
    if lowered in ("makefile", "gnumakefile") or lowered.endswith((".mk", ".make")):
        return "makefile"
    if lowered.endswith((".yml", ".yaml")):
        if ".gitlab-ci" in lowered:
            return "gitlab-ci"
        return "github-actions" if ".github" in path.parts else "ci-yaml"
    return "shell"


def snippets(text: str, name: str, source: YamlFile | None = None) -> list[Snippet]:
    """The shell text of a file; a CI YAML's documents come from ``source`` when given (the
    one load of the file)."""
    kind = kind_of_name(name)
    if kind == "markdown":
        return list(_markdown(text))
    if kind == "makefile":
        return list(_makefile(text))
    if kind in ("github-actions", "gitlab-ci", "ci-yaml"):
        return list(_ci_yaml(source or YamlFile(name, text)))
    return [Snippet(text, 1)]


def _markdown(text: str) -> Iterator[Snippet]:
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, lang = match.group(2), match.group(3).lower()
        start = i + 1
        end = start
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if lang in _SHELL_FENCES or lang == "":
            body = lines[start:end]
            prompted = lang in ("console", "shell-session", "terminal") or any(
                _PROMPT.match(line) for line in body
            )
            yield from _block(body, start + 1, prompted)
        i = end + 1


def _block(body: list[str], first_line: int, prompted: bool) -> Iterator[Snippet]:
    """A code block's commands: every line, or (``prompted``) the lines after a prompt
    together with their continuation lines."""
    if not prompted:
        yield Snippet("\n".join(body), first_line)
        return
    k = 0
    while k < len(body):
        match = _PROMPT.match(body[k])
        if match is None:
            k += 1
            continue
        cut = match.end()
        parts = [body[k][cut:]]
        start = k
        while parts[-1].rstrip().endswith("\\") and k + 1 < len(body):
            k += 1
            parts.append(body[k])
        yield Snippet("\n".join(parts), first_line + start, cut + 1)
        k += 1


def _makefile(text: str) -> Iterator[Snippet]:
    """Recipe lines (a tab first), continuation lines joined, ``@``/``-``/``+`` dropped and
    ``$$`` read as the shell's ``$``."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("\t"):
            i += 1
            continue
        start = i
        parts = [line]
        while parts[-1].endswith("\\") and i + 1 < len(lines):
            i += 1
            parts.append(lines[i])
        body = "\n".join(parts)
        stripped = body.lstrip("\t")
        prefix = len(body) - len(stripped)
        while stripped[:1] in ("@", "-", "+") and stripped:
            stripped = stripped[1:]
            prefix += 1
        # same length: every offset stays right
        yield Snippet(stripped.replace("$$", " $"), start + 1, prefix + 1)
        i += 1


def _ci_yaml(source: YamlFile) -> Iterator[Snippet]:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from keelhaul.errors import SyntaxProblem

    text = source.text
    try:
        docs = source.documents()
    except SyntaxProblem:
        return
    lines = text.split("\n")

    def scalar(parent: object, key: object) -> Iterator[Snippet]:
        raw = parent[key]  # type: ignore[index]
        if not isinstance(raw, str):
            return
        try:
            if isinstance(parent, CommentedSeq):
                line, col = parent.lc.item(key)
            else:
                line, col = parent.lc.value(key)  # type: ignore[attr-defined]
        except (KeyError, IndexError, AttributeError, TypeError):
            return
        first = lines[line][col : col + 1] if line < len(lines) else ""
        if first in ("|", ">"):
            # a block scalar: its text starts on the next line, indented
            body_line = line + 1
            while body_line < len(lines) and not lines[body_line].strip():
                body_line += 1
            indent = (
                len(lines[body_line]) - len(lines[body_line].lstrip())
                if body_line < len(lines)
                else 0
            )
            yield Snippet(raw, line + 2, indent + 1, indent)
        else:
            yield Snippet(raw, line + 1, col + 1 + (1 if first in "'\"" else 0))

    def walk(node: object) -> Iterator[Snippet]:
        if isinstance(node, CommentedMap):
            for key, value in node.items():
                if key == "run" and isinstance(value, str):
                    yield from scalar(node, key)
                elif key in ("script", "before_script", "after_script"):
                    if isinstance(value, str):
                        yield from scalar(node, key)
                    elif isinstance(value, CommentedSeq):
                        for i in range(len(value)):
                            yield from scalar(value, i)
                else:
                    yield from walk(value)
        elif isinstance(node, CommentedSeq):
            for item in node:
                yield from walk(item)

    for doc in docs:
        yield from walk(doc)


# --------------------------------------------------------------------------------------------
# reading the command lines


def commands_in(
    text: str, name: str, source: YamlFile | None = None
) -> Iterator[tuple[SimpleCommand, Snippet]]:
    """Every ``docker run``/``create`` command of a file, with the snippet it is in."""
    for snippet in snippets(text, name, source):
        if not has_docker_run(snippet.text):
            continue
        for command in parse_shell(snippet.text):
            if _docker_run_args(command.argv) is not None:
                yield command, snippet


def read_docker_run(text: str | YamlFile, name: str = "") -> list[ContainerRun]:
    """One :class:`ContainerRun` per ``docker run``/``create`` command line in the file."""
    source = yaml_file(text, name)
    text, name = source.text, source.name
    if not has_docker_run(text):
        return []
    runs: list[ContainerRun] = []
    for command, snippet in commands_in(text, name, source):
        run = runs_of_argv(command, snippet, name)
        if run is not None:
            runs.append(run)
    return runs


def _docker_run_args(argv: tuple[str, ...]) -> int | None:
    """The index of the first word after ``docker [opts] run``, or None for other commands."""
    if not argv or PurePath(argv[0]).name != "docker":
        return None
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in GLOBAL_VALUE else 1
    for sub in _SUBCOMMANDS:
        if tuple(argv[i : i + len(sub)]) == sub:
            return i + len(sub)
    return None


class _Locator:
    def __init__(self, snippet: Snippet, file: str) -> None:
        self.snippet = snippet
        self.file = file
        self.text = snippet.text

    def __call__(self, offset: int, path: str = "") -> Where:
        before = self.text[:offset]
        line_in = before.count("\n")
        if line_in == 0:
            column = self.snippet.column + offset
        else:
            column = offset - before.rfind("\n") + self.snippet.indent
        return Where(self.file, self.snippet.line + line_in, column, path)


def command_insertion_point(command: SimpleCommand, snippet: Snippet) -> tuple[int, int] | None:
    """The file line and column right after the ``run``/``create`` word of a ``docker run``
    command, where flags can be inserted; None when it is not one."""
    start = _docker_run_args(command.argv)
    if start is None or start - 1 >= len(command.arg_spans):
        return None
    where = _Locator(snippet, "")(command.arg_spans[start - 1][1])
    return (where.line, where.column)


def runs_of_argv(command: SimpleCommand, snippet: Snippet, file: str) -> ContainerRun | None:
    start = _docker_run_args(command.argv)
    if start is None:
        return None
    locate = _Locator(snippet, file)
    spans = command.arg_spans
    argv = command.argv

    def at(i: int, path: str = "") -> Where:
        offset = spans[i][0] if i < len(spans) else command.start
        return locate(offset, path)

    def valued(name: str, value: str, i: int, path: str) -> _Flag:
        """A flag whose value ends word ``i`` (``--env A=b``, ``--env=A=b``, ``-eA=b``)."""
        return _Flag(name, value, at(i, path), _form(snippet.text, spans, argv, i, value))

    where = at(0)
    flags: list[_Flag] = []
    image: Value[str] | None = None
    i = start
    while i < len(argv):
        word = argv[i]
        if word == "--":
            if i + 1 < len(argv):
                image = Value(argv[i + 1], at(i + 1, "IMAGE"))
            break
        if word.startswith("--") and len(word) > 2:
            name, eq, value = word[2:].partition("=")
            if eq:
                flags.append(valued(name, value, i, f"--{name}"))
            elif name in BOOL_FLAGS:
                flags.append(_Flag(name, None, at(i, f"--{name}")))
            elif name in VALUE_FLAGS or (i + 1 < len(argv) and not argv[i + 1].startswith("-")):
                if i + 1 < len(argv):
                    flags.append(valued(name, argv[i + 1], i + 1, f"--{name}"))
                else:
                    flags.append(_Flag(name, "", at(i, f"--{name}")))
                i += 1
            else:
                flags.append(_Flag(name, None, at(i, f"--{name}")))
            i += 1
            continue
        if word.startswith("-") and len(word) > 1:
            i = _short(word, i, argv, at, valued, flags)
            continue
        image = Value(word, at(i, "IMAGE"))
        break
    line = where.line
    run = ContainerRun(
        source=Source.DOCKER_RUN,
        file=file,
        name=image.value if image is not None else "",
        workload=f"docker {'create' if 'create' in argv[1:start] else 'run'} (line {line})",
        where=where,
        image=image,
    )
    for flag in flags:
        _apply(run, flag)
    return run


_BACKTICKS = re.compile(r"`([^`]*)`")


def _form(text: str, spans: tuple[tuple[int, int], ...], argv: tuple[str, ...], i: int,
          value: str) -> str:  # fmt: skip
    """``value``, the end of word ``i``, as the shell reads it (:func:`dollar_form` of the
    word as written). When the written word does not give the word parsed (a command inside
    an ``sh -c`` string or backticks), the parsed word with every ``$`` read as expanded."""
    word = argv[i]
    form = _BACKTICKS.sub(r"$(\1)", word)
    if i < len(spans):
        written = dollar_form(text[spans[i][0] : spans[i][1]])
        if written.replace("$$", "$") == form.replace("$$", "$"):  # the spans are the word's
            form = written
    cut = len(word) - len(value)  # the flag before the value (``--env=``, ``-e``): no ``$``
    return form[cut:] if "$" not in word[:cut] else value


def _short(
    word: str, i: int, argv: tuple[str, ...], at: Callable[[int, str], Where],
    valued: Callable[[str, str, int, str], _Flag], flags: list[_Flag],
) -> int:  # fmt: skip
    """Combined one-letter flags (``-itd``, ``-p80:80``, ``-e A=b``); the next index."""
    letters = word[1:]
    for k, letter in enumerate(letters):
        if letter in SHORT_VALUE:
            name = SHORT_VALUE[letter]
            rest = letters[k + 1 :]
            if rest:
                flags.append(valued(name, rest.removeprefix("="), i, f"-{letter}"))
                return i + 1
            if i + 1 < len(argv):
                flags.append(valued(name, argv[i + 1], i + 1, f"-{letter}"))
                return i + 2
            return i + 1
        flags.append(_Flag(SHORT_BOOL.get(letter, letter), None, at(i, f"-{letter}")))
    return i + 1


_TRUE = frozenset({"true", "1", "t", "TRUE", "True", "T"})
_FALSE = frozenset({"false", "0", "f", "FALSE", "False", "F"})


def _flag_bool(flag: _Flag) -> Value[bool] | None:
    if flag.value is None:
        return Value(True, flag.where)
    if flag.value in _TRUE:
        return Value(True, flag.where)
    if flag.value in _FALSE:
        return Value(False, flag.where)
    return None  # a variable: unknown


_OPT = re.compile(r"^\s*([A-Za-z-]+)\s*[:=]?\s*(.*?)\s*$")


def _apply(run: ContainerRun, flag: _Flag) -> None:
    name, value, where = flag.name, flag.value, flag.where
    if name == "privileged":
        run.privileged = _flag_bool(flag)
    elif name == "read-only":
        run.read_only_root = _flag_bool(flag)
    elif value is None:
        if name == "init":
            run.extra["init_process"] = True
        elif name == "publish-all":
            run.extra["publish_all"] = True
        return
    elif name == "cap-add":
        run.cap_add.append(Value(value, where))
    elif name == "cap-drop":
        run.cap_drop.append(Value(value, where))
    elif name == "user":
        run.user = Value(value, where)
        if ":" in value:
            run.group = Value(value.split(":", 1)[1], where)
    elif name == "security-opt":
        _security_opt(run, value, where)
    elif name in ("network", "net"):
        run.host_network = Value(value == "host", where)
        if value.startswith("container:"):
            run.extra["network_mode"] = value
    elif name == "pid":
        run.host_pid = Value(value == "host", where)
    elif name == "ipc":
        run.host_ipc = Value(value == "host", where)
    elif name == "uts":
        run.host_uts = Value(value == "host", where)
    elif name == "userns":
        run.userns = Value(value, where)
    elif name == "tmpfs":
        run.mounts.append(Mount(value.split(":", 1)[0], None, False, "tmpfs", where))
    elif name == "volume":
        run.mounts.append(_volume(value, where))
    elif name == "mount":
        run.mounts.append(_mount(value, where))
    elif name == "env":
        key, eq, _ = value.partition("=")
        run.env.append(EnvVar(key, _literal(flag.form or value) if eq else None, False, where))
    elif name == "env-file":
        run.extra["env_file"] = (*_tuple(run.extra.get("env_file")), value)
    elif name == "publish":
        run.ports += _publish(value, where)
    elif name == "device":
        run.devices.append(Value(value, where))
    elif name == "sysctl":
        run.sysctls.append(Value(value, where))
    elif name == "memory":
        run.memory_limit = Value(value, where)
    elif name == "cpus":
        run.cpu_limit = Value(value, where)
    elif name == "pids-limit":
        run.pids_limit = Value(value, where)
    elif name == "pull":
        run.pull_policy = Value(value, where)
    elif name == "name":
        run.extra["container_name"] = value


def _literal(assignment: str) -> str | None:
    """The value of ``NAME=value`` (in :func:`dollar_form`) as written, or None when the shell
    puts a variable or a command's output there (the host's value, not written here): the one
    test of :func:`keelhaul.secrets.is_reference`, as for Compose. In single quotes nothing is
    expanded (``'Xk9#mQ2$vL7pR4wZ'`` is that password, kept as ``Xk9#mQ2$$vL7pR4wZ``); a
    ``$`` inside a run of letters and digits is taken as a password's character, as in
    Compose (the password is committed either way)."""
    value = assignment.partition("=")[2]
    return None if is_reference(value) else value


def _tuple(raw: object) -> tuple[str, ...]:
    return tuple(str(x) for x in raw) if isinstance(raw, tuple) else ()


def _security_opt(run: ContainerRun, text: str, where: Where) -> None:
    match = _OPT.match(text)
    if match is None:
        return
    name, rest = match.group(1).lower(), match.group(2)
    if name == "no-new-privileges":
        if rest in ("", "true"):
            run.no_new_privileges = Value(True, where)
        elif rest == "false":
            run.no_new_privileges = Value(False, where)
    elif name == "seccomp":
        run.seccomp = Value("Unconfined" if rest == "unconfined" else rest, where)
    elif name == "apparmor":
        run.apparmor = Value("Unconfined" if rest == "unconfined" else rest, where)
    elif name == "label":
        run.selinux = Value(rest, where)


def _volume(text: str, where: Where) -> Mount:
    parts = text.split(":")
    if len(parts) > 1 and len(parts[0]) == 1 and parts[0].isalpha() and parts[1][:1] in "\\/":
        parts = [parts[0] + ":" + parts[1], *parts[2:]]
    if len(parts) == 1:
        return Mount(parts[0], None, False, "volume", where)
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) > 2 else []
    read_only = "ro" in options or "readonly" in options
    # the CLI takes a source for a named volume unless it is a path
    is_path = source.startswith(("/", ".", "~", "$", "`")) or "/" in source or "\\" in source
    return Mount(
        target, source if is_path else None, read_only, "bind" if is_path else "volume", where
    )


def _mount(text: str, where: Where) -> Mount:
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, eq, value = part.partition("=")
        fields[key.strip().lower()] = value.strip() if eq else "true"
    kind = fields.get("type", "volume")
    source = fields.get("source") or fields.get("src")
    target = fields.get("target") or fields.get("destination") or fields.get("dst") or ""
    ro = fields.get("readonly") or fields.get("ro")
    read_only = ro is not None and ro.lower() in ("true", "1", "")
    return Mount(target, source if kind == "bind" else None, read_only, kind, where)


_PUBLISH = re.compile(
    r"^(?:(?P<ip>\[[^\]]*\]|[^:\[\]]*):)??(?:(?P<host>[^:]*):)?(?P<cont>[^:/]+)(?:/(?P<proto>\w+))?$"
)


def _numbers(text: str | None) -> list[int | None]:
    if not text:
        return [None]
    low, _, high = text.partition("-")
    if not low.isdigit():
        return [None]
    first = int(low)
    last = int(high) if high.isdigit() else first
    if last < first:
        return [first]
    return list(range(first, last + 1)) if last - first < 64 else [first, last]


def _publish(text: str, where: Where) -> list[Port]:
    match = _PUBLISH.match(text.strip())
    if match is None:
        return [Port(None, None, "tcp", where)]
    conts = _numbers(match.group("cont"))
    hosts = _numbers(match.group("host")) if match.group("host") else [None]
    proto = match.group("proto") or "tcp"
    return [
        Port(cont, hosts[n] if n < len(hosts) else hosts[0], proto, where)
        for n, cont in enumerate(conts)
    ]
