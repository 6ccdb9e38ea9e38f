"""The unsafe fix of KH125 (build-in-final-stage) for a Java application built with Maven or
Gradle: a build stage with the JDK, then a JRE runtime stage running the jar.

The one pattern fixed (anything else: no fix, the finding stays)::

    FROM maven:3.9-eclipse-temurin-21         FROM maven:3.9-eclipse-temurin-21 AS build
    WORKDIR /src                              WORKDIR /src
    COPY pom.xml .                            COPY pom.xml .
    RUN mvn dependency:go-offline             RUN mvn dependency:go-offline
    COPY src src                              COPY src src
    RUN mvn -B package -DskipTests        ->  RUN mvn -B package -DskipTests
    EXPOSE 8080                               FROM eclipse-temurin:21-jre
    CMD java -Xmx512m -jar target/*.jar       WORKDIR /app
                                              COPY --from=build /src/target/*.jar /app/app.jar
                                              EXPOSE 8080
                                              CMD ["java", "-Xmx512m", "-jar", "/app/app.jar"]

- The final stage is built FROM a Maven image whose tag names the JDK (``maven:3.9-eclipse-
  temurin-21``, ``maven:3-openjdk-17-slim``, ``maven:3-amazoncorretto-21``, ``-sapmachine-``,
  the old ``maven:3-jdk-11``), a Gradle image whose tag names it (``gradle:8-jdk21``,
  ``gradle:8.5-jdk17-alpine``, ``gradle:jdk21-jammy``) or an ``eclipse-temurin`` JDK image
  (``eclipse-temurin:21-jdk``, ``:21`` which is the JDK, ``:21.0.2_13-jdk-jammy``,
  ``:8u392-b08-jdk``). The Java major comes from that tag. A tag that does not name it
  (``maven:3.9``, ``gradle:8.5``, ``latest``: their JDK has changed over the years, 11 to 17
  to 21), ``openjdk:*`` (deprecated images), OpenJ9 (``ibm-semeru``, ``openj9``), GraalVM,
  Windows images, a variable in the reference, or a major without an ``eclipse-temurin``
  JRE image keelhaul knows (:data:`JRE_MAJORS`): no fix. A digest is fine (the tag is read).
- The runtime stage is ``eclipse-temurin:<major>-jre``, ``-jre-alpine`` when the build image
  is an Alpine one (musl: a jar with native libraries built for glibc would not load there
  either way).
- The stage compiles with exactly one ``mvn``/``./mvnw`` (goals among clean, validate,
  compile, test, package, verify, install; at least package, verify or install) or
  ``gradle``/``./gradlew`` (tasks among clean, build, assemble, jar, bootJar, shadowJar,
  installDist, classes, test, check; at least one that makes a jar); other Maven/Gradle
  commands only download (``mvn dependency:go-offline``) or clean. Every RUN is a shell-form
  RUN whose commands are all Maven/Gradle or file chores (chmod, sed, cp, mv, rm, mkdir...):
  a package install, a ``useradd`` or any other program could set up something the program
  needs at run time that the JRE image lacks. That RUN is the stage's last RUN, COPY, ADD and
  WORKDIR: what follows may only be ENV, LABEL, EXPOSE, STOPSIGNAL, ARG, VOLUME, a numeric
  USER, ``HEALTHCHECK NONE``, CMD and ENTRYPOINT; they end up after the new FROM, in the
  runtime stage. A HEALTHCHECK that runs something (curl, wget...), a USER, VOLUME, SHELL or
  ONBUILD before the build, a CMD/ENTRYPOINT before it: no fix.
- The program runs by ENTRYPOINT (or by CMD without ENTRYPOINT) ``java [options] -jar JAR
  [args]``: ``java`` by its bare name, options that name no other file (no ``-javaagent``,
  ``-agentpath``, ``-cp``, ``@argfiles``...), JAR a ``.jar`` path without variables, absolute
  or relative to the WORKDIR. The shell form is accepted when it is plain words (no
  variables, quotes or operators: ``java $JAVA_OPTS -jar app.jar`` is not fixed) and becomes
  the exec form.
- The jar is copied to ``/app/<its name>`` with ``WORKDIR /app``. A glob in the jar's file
  name (``target/*.jar``, ``build/libs/app-*-SNAPSHOT.jar``) is only read in the shell form
  (the exec form does not expand it, the original then runs no jar: no fix); it is kept in
  the COPY source and the jar is named ``/app/app.jar``. COPY expands it like the shell did
  when exactly one jar matches; when several match (``app.jar`` and ``app-plain.jar`` of
  Gradle's bootJar and jar) the shell ran the first and passed the others as arguments, and
  the fixed build fails at that COPY instead of silently picking one.
- ENV before the build: Maven/Gradle/JDK settings (``MAVEN_*``, ``M2_*``, ``GRADLE_*``,
  ``JAVA_HOME``, ``PATH``...) stay in the build stage only (``JAVA_HOME`` of an openjdk-based
  Maven image would point nowhere in the JRE image); any other ENV is repeated whole in the
  runtime stage (``JAVA_OPTS``, ``SPRING_PROFILES_ACTIVE``); one that mixes both kinds or
  holds a variable: no fix. LABEL, EXPOSE and STOPSIGNAL before the build move to the runtime
  stage. ENV, LABEL, EXPOSE, STOPSIGNAL or VOLUME after the build with a variable (an ARG of
  the build stage would no longer be set), or an ENV after it setting ``JAVA_HOME``/``PATH``:
  no fix.
- USER: the eclipse-temurin images have no non-root user, so none is added here (KH109's own
  fix adds one); a numeric USER after the build stays.
"""

from __future__ import annotations

import posixpath
import re

from keelhaul.dockerfile.edits import line_ending, replace_instruction
from keelhaul.dockerfile.shell import parse_shell
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Edit, Fix, Safety
from keelhaul.rules.dockerfile.multistage._fixes import (
    _json,
    _name_stage,
    _resolve,
    _whole,
    one_more_stage,
    split_at_build,
)
from keelhaul.rules.dockerfile.shared.images import image_ref
from keelhaul.rules.dockerfile.shared.toolchain import BuildStep, stage_runs
from keelhaul.rules.registry import DockerfileContext, Run, fix_builder

#: Java majors with ``eclipse-temurin:<major>-jre`` and ``-jre-alpine`` images.
JRE_MAJORS = frozenset({8, 11, 17, 21, 22, 23, 24, 25})
RUNTIME_DIR = "/app"
GLOB_NAME = "app.jar"
WHY_UNSAFE = (
    "the runtime image is a JRE with only the jar: no javac, jlink, jcmd or other JDK tools, "
    "no Maven/Gradle, none of the other files of the build stage (configuration folders, "
    "native libraries, a classpath beside the jar, Spring Boot's extracted layers), a "
    "different WORKDIR (/app), and the shell form of CMD becomes the exec form"
)

#: OS and vendor words of a tag that keep the image a plain HotSpot JDK on Linux.
_VARIANTS = frozenset({"alpine", "jammy", "focal", "noble", "bionic", "slim", "bullseye",
                       "buster", "bookworm", "debian", "corretto", "al2", "al2023", "ubi",
                       "ubi8", "ubi9", "minimal", "centos7"})  # fmt: skip
_MAVEN_TAG = re.compile(
    r"(?:\d[\d.]*-)?(?:eclipse-temurin|openjdk|jdk|amazoncorretto|sapmachine)-(\d+)"
    r"((?:-[a-z0-9]+)*)"
)
_GRADLE_TAG = re.compile(r"(?:\d[\d.]*-)?jdk(\d+)((?:-[a-z0-9]+)*)")
_TEMURIN_TAG = re.compile(r"(\d+)(?:[.u_+][\w.+]*)?((?:-[a-z0-9]+)*)")
_BUILD_NUMBER = re.compile(r"b\d+")

_MVN_GOALS = frozenset({"clean", "validate", "compile", "test", "package", "verify", "install"})
_MVN_JAR = frozenset({"package", "verify", "install"})
_GRADLE_TASKS = frozenset({"clean", "build", "assemble", "jar", "bootJar", "shadowJar",
                           "installDist", "classes", "test", "check"})  # fmt: skip
_GRADLE_JAR = frozenset({"build", "assemble", "jar", "bootJar", "shadowJar", "installDist"})
#: Programs a RUN of the stage may run besides Maven and Gradle: chores on the sources.
_CHORES = frozenset({"chmod", "sed", "dos2unix", "rm", "ls", "echo", "cd", "true", "mkdir",
                     "cp", "mv", "find", "pwd", "cat", "tr"})  # fmt: skip
_AFTER_BUILD = frozenset({"ENV", "LABEL", "EXPOSE", "STOPSIGNAL", "ARG", "VOLUME", "USER",
                          "HEALTHCHECK", "CMD", "ENTRYPOINT"})  # fmt: skip
_BEFORE_BUILD = frozenset({"ENV", "LABEL", "EXPOSE", "STOPSIGNAL", "ARG", "WORKDIR", "COPY",
                           "ADD", "RUN"})  # fmt: skip
_MOVED = frozenset({"LABEL", "EXPOSE", "STOPSIGNAL"})
_BUILD_ENV = re.compile(r"(?:MAVEN|M2|MVN|GRADLE|JDK)_\w*|M2_HOME|JAVA_HOME|PATH")
#: Shell-form words: plain, with ``*`` and ``?`` (a glob, allowed in the jar's name only).
_SHELL_WORDS = re.compile(r"[^\s$`|&;<>(){}\[\]~\\'\"#]+(?:[ \t]+[^\s$`|&;<>(){}\[\]~\\'\"#]+)*")
_GLOB = re.compile(r"[*?\[]")
#: java options naming another file or changing what runs (the file would not be copied).
_FILE_OPTIONS = re.compile(
    r"-(?:javaagent|agentpath|agentlib|splash)[:=].*|-(?:cp|classpath)|--class-path(?:=.*)?"
    r"|-p|--module-path(?:=.*)?|-m|--module(?:=.*)?|--upgrade-module-path(?:=.*)?"
    r"|-Xbootclasspath.*|@.*|-jar|--source(?:=.*)?"
)
_JAR_PATH = re.compile(r"[^\s\"'$\\]+\.jar")


def runtime_image(stage: Stage) -> str | None:
    """``eclipse-temurin:<major>-jre[-alpine]`` for a Maven, Gradle or Temurin JDK stage."""
    if stage.base_stage is not None or "$" in stage.base:
        return None
    ref = image_ref(stage.base)
    if ref is None or ref.tag is None:
        return None
    pattern = {"maven": _MAVEN_TAG, "gradle": _GRADLE_TAG, "eclipse-temurin": _TEMURIN_TAG}
    found = pattern[ref.path].fullmatch(ref.tag) if ref.path in pattern else None
    if found is None:
        return None
    major = int(found.group(1))
    words = [w for w in found.group(2).split("-") if w and not _BUILD_NUMBER.fullmatch(w)]
    if ref.path == "eclipse-temurin" and "jdk" in words:
        words.remove("jdk")  # ``21`` is the JDK too; ``21-jre`` is not a build image
    if major not in JRE_MAJORS or any(w not in _VARIANTS for w in words):
        return None
    return f"eclipse-temurin:{major}-jre" + ("-alpine" if "alpine" in words else "")


def _builds_jar(step: BuildStep) -> bool:
    """The step is one Maven/Gradle command making a jar from the known goals or tasks."""
    for op in step.run.operations.packages:
        if op.command is not step.command:
            continue
        if op.manager == "mvn" and op.action == "build":
            goals = set(op.operands)
            return goals <= _MVN_GOALS and bool(goals & _MVN_JAR)
        if op.manager == "gradle" and op.action == "build":
            tasks = {t.rsplit(":", 1)[-1] for t in op.operands}
            return tasks <= _GRADLE_TASKS and bool(tasks & _GRADLE_JAR)
    return False


def _only_chores(runs: list[Run], step: BuildStep) -> bool:
    """Every command of the stage's RUNs is Maven/Gradle (one build, the rest downloads or
    cleaning) or a chore on the sources."""
    for run in runs:
        tools = {op.command.start: op for op in run.operations.packages
                 if op.manager in ("mvn", "gradle")}  # fmt: skip
        for cmd in run.script.commands:
            if not cmd.argv:
                continue
            op = tools.get(cmd.start)
            if op is not None and op.command is cmd:
                if cmd is not step.command and op.action not in ("download", "clean"):
                    return False
            elif cmd.name not in _CHORES or cmd.wrappers:
                return False
    return True


def _runner_words(inst: Instruction) -> list[str] | None:
    """The words a CMD/ENTRYPOINT runs; a glob word only in the shell form (its shell
    expands it), marked by the caller."""
    eff = inst.effective
    if eff.json:
        words = list(eff.values)
        return None if any(_GLOB.search(w) for w in words) else words
    text = (eff.values[0] if eff.values else "").strip()
    if not _SHELL_WORDS.fullmatch(text):
        return None
    script = parse_shell(text)
    if len(script.commands) != 1 or script.commands[0].env:
        return None
    return text.split()


def _java_jar(words: list[str]) -> tuple[list[str], str, list[str]] | None:
    """(options, jar, args) of ``java [options] -jar JAR [args]``."""
    if words[:1] != ["java"] or "-jar" not in words:
        return None
    at = words.index("-jar")
    options, rest = words[1:at], words[at + 1 :]
    if not rest or not _JAR_PATH.fullmatch(rest[0]):
        return None
    if any(not o.startswith("-") or _FILE_OPTIONS.fullmatch(o) or _GLOB.search(o)
           for o in options):  # fmt: skip
        return None
    jar, args = rest[0], rest[1:]
    if any(_GLOB.search(a) for a in args) or _GLOB.search(posixpath.dirname(jar)):
        return None
    return options, jar, args


def _env_kind(inst: Instruction) -> str | None:
    """ "build" (Maven/Gradle/JDK settings), "runtime" (anything else) or None (mixed)."""
    keys = [k for k, _ in inst.effective.pairs()] or list(inst.effective.values[:1])
    build = [bool(_BUILD_ENV.fullmatch(k)) for k in keys]
    if all(build):
        return "build"
    return "runtime" if not any(build) else None


@fix_builder
def java_multistage_fix(ctx: DockerfileContext, step: BuildStep) -> Fix | None:
    """Split a final stage that builds a jar with Maven or Gradle into a JDK build stage and
    a JRE runtime stage."""
    stage = ctx.final_stage
    if stage is None or step.ecosystem != "java" or not _builds_jar(step):
        return None
    runtime = runtime_image(stage)
    if runtime is None:
        return None
    insts = list(stage.instructions)
    runs = stage_runs(ctx, stage)
    if sum(i.name == "RUN" for i in insts) != len(runs) or not _only_chores(runs, step):
        return None  # an exec-form RUN, or a RUN doing more than build chores
    build_run = step.run.instruction
    split = split_at_build(stage, build_run, _BEFORE_BUILD, _AFTER_BUILD)
    if split is None:
        return None
    before, after, workdir = split
    edits: list[Edit] = []
    carried: list[str] = []
    for inst in before:
        kind = _env_kind(inst) if inst.name == "ENV" else None
        if inst.name == "ENV" and kind is None:
            return None
        if inst.name in _MOVED or kind == "runtime":
            if "$" in inst.text:
                return None
            carried.append(_whole(inst))
        if inst.name in _MOVED:
            edits.append(Edit(inst.start_line, inst.end_line, ""))
    for inst in after:
        if inst.name == "HEALTHCHECK" and [v.upper() for v in inst.values] != ["NONE"]:
            return None  # the JRE image may lack curl/wget, and the check may use build files
        if inst.name in ("ENV", "LABEL", "EXPOSE", "STOPSIGNAL", "VOLUME") and "$" in inst.text:
            return None
        if inst.name == "ENV" and _env_kind(inst) != "runtime":
            return None
        if inst.name == "USER" and not re.fullmatch(r"\d+(?::\d+)?", " ".join(inst.values)):
            return None
    entry = next((i for i in reversed(after) if i.name == "ENTRYPOINT"), None)
    command = next((i for i in reversed(after) if i.name == "CMD"), None)
    if any(i.name in ("CMD", "ENTRYPOINT") for i in before):
        return None
    runner = entry or command
    if runner is None:
        return None
    if entry is not None and command is not None and not command.effective.json:
        return None  # a shell-form CMD would become arguments of the program
    words = _runner_words(runner)
    parts = _java_jar(words) if words else None
    if parts is None:
        return None
    options, jar, args = parts
    source = _resolve(jar, workdir)
    name = GLOB_NAME if _GLOB.search(posixpath.basename(jar)) else posixpath.basename(jar)
    target = posixpath.join(RUNTIME_DIR, name)
    nl = line_ending(build_run)
    # the keyword as written, the indentation and the final line break (or none) are kept
    words = ["java", *options, "-jar", target, *args]
    edits.append(replace_instruction(runner, f"{runner.keyword} {_json(words)}"))
    head = [f"FROM {runtime}", f"WORKDIR {RUNTIME_DIR}", f"COPY --from=build {source} {target}"]
    insertion = "".join(line + nl for line in head) + "".join(carried)
    edits.append(Edit(build_run.end_line + 1, build_run.end_line, insertion))
    name_edit = _name_stage(stage, ctx)
    if name_edit is None:
        return None
    edits.append(name_edit)
    edits.sort(key=lambda e: e.start_line)
    if not _proved(ctx, edits, runtime, (source, target)):
        return None
    return Fix(
        tuple(edits),
        f"build `{source}` in a `build` stage and run it from {runtime}",
        Safety.UNSAFE,
        WHY_UNSAFE,
    )


def _proved(ctx: DockerfileContext, edits: list[Edit], runtime: str, copy: tuple[str, str]) -> bool:
    """The fixed file parses into the unchanged build stage, named ``build``, and a runtime
    stage FROM the JRE that copies the jar alone and runs no RUN."""
    build = one_more_stage(ctx, edits)
    if build is None:
        return False
    builder, final = build.stages[-2], build.stages[-1]
    copies = [i for i in final.instructions if i.name in ("COPY", "ADD")]
    old = ctx.final_stage
    return (
        old is not None
        and builder.name == "build"
        and builder.base == old.base
        and [i.text for i in builder.instructions if i.name in ("RUN", "COPY", "ADD", "WORKDIR")]
        == [i.text for i in old.instructions if i.name in ("RUN", "COPY", "ADD", "WORKDIR")]
        and final.base == runtime
        and len(copies) == 1
        and copies[0].flag("from") == "build"
        and copies[0].values == copy
        and not any(i.name == "RUN" for i in final.instructions)
    )
