"""KH125's unsafe fix for a Java application built with Maven or Gradle: a JDK build stage, then
a JRE runtime stage running the jar."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.dockerfile.edits import apply_edits
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Safety
from keelhaul.rules.dockerfile.multistage._java import (
    WHY_UNSAFE,
    java_multistage_fix,
    runtime_image,
)
from keelhaul.rules.dockerfile.shared.toolchain import build_steps, stage_runs
from keelhaul.rules.engine import dockerfile_rules
from keelhaul.rules.registry import DockerfileContext, Hit
from tests.fix.test_fixing import fix, run

KH125 = next(r for r in dockerfile_rules() if r.code == "KH125")
MAVEN = "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /src\nCOPY . .\n"
GRADLE = "FROM gradle:8-jdk17\nWORKDIR /home/gradle/project\nCOPY . .\n"
DIGEST = "sha256:" + "a" * 64


def hits(src: str) -> list[Hit]:
    return list(KH125.check(DockerfileContext.of(parse(src))))


def fixed(src: str) -> str | None:
    found = hits(src)
    assert len(found) == 1, "KH125 must flag the case"
    f = found[0].fix
    return None if f is None else apply_edits(src, f.edits)


def buildkit_parses(text: str) -> None:
    buildkit = pytest.importorskip("dockerfile")
    commands = buildkit.parse_string(text)
    froms = [line for line in text.splitlines() if line.upper().startswith("FROM ")]
    assert [c.cmd for c in commands].count("FROM") == len(froms)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /src\nCOPY pom.xml .\n"
            "RUN mvn dependency:go-offline\nCOPY src src\nRUN mvn -B package -DskipTests\n"
            "EXPOSE 8080\nCMD java -Xmx512m -jar target/*.jar\n",
            "FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /src\nCOPY pom.xml .\n"
            "RUN mvn dependency:go-offline\nCOPY src src\nRUN mvn -B package -DskipTests\n"
            "FROM eclipse-temurin:21-jre\nWORKDIR /app\n"
            "COPY --from=build /src/target/*.jar /app/app.jar\n"
            'EXPOSE 8080\nCMD ["java", "-Xmx512m", "-jar", "/app/app.jar"]\n',
            id="mvn-glob-shell-form",
        ),
        pytest.param(
            "FROM maven:3-openjdk-17-slim\nWORKDIR /usr/src/app\nCOPY . .\n"
            "RUN chmod +x mvnw && ./mvnw clean package -DskipTests\n"
            'ENTRYPOINT ["java", "-jar", "target/demo-0.0.1-SNAPSHOT.jar"]\n'
            'CMD ["--server.port=8080"]\n',
            "FROM maven:3-openjdk-17-slim AS build\nWORKDIR /usr/src/app\nCOPY . .\n"
            "RUN chmod +x mvnw && ./mvnw clean package -DskipTests\n"
            "FROM eclipse-temurin:17-jre\nWORKDIR /app\n"
            "COPY --from=build /usr/src/app/target/demo-0.0.1-SNAPSHOT.jar "
            "/app/demo-0.0.1-SNAPSHOT.jar\n"
            'ENTRYPOINT ["java", "-jar", "/app/demo-0.0.1-SNAPSHOT.jar"]\n'
            'CMD ["--server.port=8080"]\n',
            id="mvnw-literal-snapshot-entrypoint-cmd",
        ),
        pytest.param(
            MAVEN + 'RUN mvn package\nCMD ["java", "-jar", "target/app.jar"]\n',
            "FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /src\nCOPY . .\n"
            "RUN mvn package\nFROM eclipse-temurin:21-jre\nWORKDIR /app\n"
            "COPY --from=build /src/target/app.jar /app/app.jar\n"
            'CMD ["java", "-jar", "/app/app.jar"]\n',
            id="minimal-the-no-fix-cases-vary-this",
        ),
        pytest.param(
            GRADLE + "RUN gradle build --no-daemon -x test\n"
            'CMD ["java", "-jar", "build/libs/app.jar"]\n',
            "FROM gradle:8-jdk17 AS build\nWORKDIR /home/gradle/project\nCOPY . .\n"
            "RUN gradle build --no-daemon -x test\n"
            "FROM eclipse-temurin:17-jre\nWORKDIR /app\n"
            "COPY --from=build /home/gradle/project/build/libs/app.jar /app/app.jar\n"
            'CMD ["java", "-jar", "/app/app.jar"]\n',
            id="gradle-literal",
        ),
        pytest.param(
            "FROM gradle:8.5-jdk17-alpine\nENV SPRING_PROFILES_ACTIVE=prod\n"
            "ENV GRADLE_OPTS=-Dorg.gradle.daemon=false\nLABEL maintainer=me\nWORKDIR /build\n"
            "COPY . .\nRUN sed -i 's/\\r$//' gradlew && ./gradlew :app:bootJar\n"
            "STOPSIGNAL SIGTERM\nUSER 1000\n"
            "ENTRYPOINT java -Dfile.encoding=UTF-8 -jar app/build/libs/*-SNAPSHOT.jar\n",
            "FROM gradle:8.5-jdk17-alpine AS build\nENV SPRING_PROFILES_ACTIVE=prod\n"
            "ENV GRADLE_OPTS=-Dorg.gradle.daemon=false\nWORKDIR /build\n"
            "COPY . .\nRUN sed -i 's/\\r$//' gradlew && ./gradlew :app:bootJar\n"
            "FROM eclipse-temurin:17-jre-alpine\nWORKDIR /app\n"
            "COPY --from=build /build/app/build/libs/*-SNAPSHOT.jar /app/app.jar\n"
            "ENV SPRING_PROFILES_ACTIVE=prod\nLABEL maintainer=me\n"
            "STOPSIGNAL SIGTERM\nUSER 1000\n"
            'ENTRYPOINT ["java", "-Dfile.encoding=UTF-8", "-jar", "/app/app.jar"]\n',
            id="gradlew-alpine-env-label-user",
        ),
        pytest.param(
            "FROM eclipse-temurin:21-jdk\r\nWORKDIR /app\r\nCOPY . .\r\n"
            "RUN ./mvnw -B verify && \\\r\n    rm -rf ~/.m2/repository\r\n"
            'CMD ["java", "-jar", "target/app.jar"]\r\n',
            "FROM eclipse-temurin:21-jdk AS build\r\nWORKDIR /app\r\nCOPY . .\r\n"
            "RUN ./mvnw -B verify && \\\r\n    rm -rf ~/.m2/repository\r\n"
            "FROM eclipse-temurin:21-jre\r\nWORKDIR /app\r\n"
            "COPY --from=build /app/target/app.jar /app/app.jar\r\n"
            'CMD ["java", "-jar", "/app/app.jar"]\r\n',
            id="temurin-jdk-crlf-continuation",
        ),
        pytest.param(
            f"FROM maven:3.9.6-eclipse-temurin-21-alpine@{DIGEST}\nWORKDIR /src\nCOPY . .\n"
            "RUN mvn install\nVOLUME /tmp\nCMD java -jar /src/target/app.jar\n",
            f"FROM maven:3.9.6-eclipse-temurin-21-alpine@{DIGEST} AS build\nWORKDIR /src\n"
            "COPY . .\nRUN mvn install\n"
            "FROM eclipse-temurin:21-jre-alpine\nWORKDIR /app\n"
            "COPY --from=build /src/target/app.jar /app/app.jar\n"
            'VOLUME /tmp\nCMD ["java", "-jar", "/app/app.jar"]\n',
            id="digest-alpine-absolute-volume",
        ),
        pytest.param(
            "FROM eclipse-temurin:21\nWORKDIR /opt\nWORKDIR svc\nCOPY . .\n"
            "RUN ./gradlew assemble && cp build/libs/svc-all.jar ../svc.jar\n"
            "CMD java -jar ../svc.jar serve --port 80\n",
            "FROM eclipse-temurin:21 AS build\nWORKDIR /opt\nWORKDIR svc\nCOPY . .\n"
            "RUN ./gradlew assemble && cp build/libs/svc-all.jar ../svc.jar\n"
            "FROM eclipse-temurin:21-jre\nWORKDIR /app\nCOPY --from=build /opt/svc.jar /app/svc.jar\n"
            'CMD ["java", "-jar", "/app/svc.jar", "serve", "--port", "80"]\n',
            id="temurin-bare-major-relative-workdir-copied-jar",
        ),
        pytest.param(
            "FROM eclipse-temurin:8u392-b08-jdk\nWORKDIR /w\nCOPY . .\nRUN mvn package\n"
            "HEALTHCHECK NONE\nCMD java -jar target/app.jar\n",
            "FROM eclipse-temurin:8u392-b08-jdk AS build\nWORKDIR /w\nCOPY . .\nRUN mvn package\n"
            "FROM eclipse-temurin:8-jre\nWORKDIR /app\nCOPY --from=build /w/target/app.jar /app/app.jar\n"
            'HEALTHCHECK NONE\nCMD ["java", "-jar", "/app/app.jar"]\n',
            id="java8-healthcheck-none",
        ),
    ],
)
def test_fix(before: str, after: str) -> None:
    assert fixed(before) == after
    found = hits(before)[0].fix
    assert found is not None
    assert found.safety is Safety.UNSAFE
    assert found.why_unsafe == WHY_UNSAFE
    # the result parses (ours and BuildKit's), has one more stage, and KH125 is quiet on it
    tree = parse(after)
    assert not tree.errors
    assert len(resolve(tree).stages) == 2
    buildkit_parses(after)
    assert hits(after) == []


@pytest.mark.parametrize(
    ("image", "runtime"),
    [
        ("maven:3.9-eclipse-temurin-21", "eclipse-temurin:21-jre"),
        ("maven:3-openjdk-17", "eclipse-temurin:17-jre"),
        ("maven:3-jdk-11", "eclipse-temurin:11-jre"),
        ("maven:3.9-amazoncorretto-21-debian", "eclipse-temurin:21-jre"),
        ("docker.io/library/maven:3.8.5-eclipse-temurin-17-focal", "eclipse-temurin:17-jre"),
        ("gradle:8-jdk21", "eclipse-temurin:21-jre"),
        ("gradle:jdk21-alpine", "eclipse-temurin:21-jre-alpine"),
        ("gradle:8.5.0-jdk21-jammy", "eclipse-temurin:21-jre"),
        ("eclipse-temurin:21-jdk", "eclipse-temurin:21-jre"),
        ("eclipse-temurin:21", "eclipse-temurin:21-jre"),
        ("eclipse-temurin:24.0.2_12-jdk-noble", "eclipse-temurin:24-jre"),
        ("eclipse-temurin:17-jdk-alpine", "eclipse-temurin:17-jre-alpine"),
        # no fix: the JDK is not named, not HotSpot, not Linux, unknown, or not a JDK
        ("maven:3.9", None),
        ("maven:latest", None),
        ("gradle:8.5", None),
        ("gradle:8-jdk-lts-and-current", None),
        ("gradle:8-jdk21-graal", None),
        ("maven:3-ibm-semeru-21-jammy", None),
        ("eclipse-temurin:21-jre", None),
        ("eclipse-temurin:21-jdk-windowsservercore", None),
        ("openjdk:17", None),
        ("gradle:7-jdk15", None),
        ("maven@" + DIGEST, None),
        ("maven:3-eclipse-temurin-${JAVA}", None),
    ],
)
def test_runtime_image(image: str, runtime: str | None) -> None:
    stage = resolve(parse(f"FROM {image}\n")).stages[0]
    assert runtime_image(stage) == runtime


@pytest.mark.parametrize(
    "src",
    [
        pytest.param(MAVEN + "RUN mvn package\nCMD java -jar $JAR\n", id="jar-variable"),
        pytest.param(
            MAVEN + "ARG JAR=target/app.jar\nRUN mvn package\nCMD java -jar ${JAR}\n",
            id="jar-arg",
        ),
        pytest.param(
            MAVEN + "RUN mvn package\nCMD java $JAVA_OPTS -jar target/app.jar\n",
            id="java-opts-variable",
        ),
        pytest.param(
            MAVEN + 'RUN mvn package && mvn -f other/pom.xml package\nCMD ["java", "-jar", '
            '"target/app.jar"]\n',
            id="two-builds",
        ),
        pytest.param(
            MAVEN + 'RUN mvn package\nRUN gradle build\nCMD ["java", "-jar", "target/app.jar"]\n',
            id="two-build-runs",
        ),
        pytest.param(
            MAVEN + 'RUN mvn package\nCMD ["java", "-cp", "target/classes:target/lib/*", '
            '"com.example.Main"]\n',
            id="java-cp",
        ),
        pytest.param(
            MAVEN + 'RUN mvn package\nCMD ["java", "-javaagent:/opt/agent.jar", "-jar", '
            '"target/app.jar"]\n',
            id="javaagent",
        ),
        pytest.param(
            "FROM maven:3.9-eclipse-temurin-17\nWORKDIR /src\nCOPY . .\nRUN mvn package && "
            'cp target/app.war /usr/local/tomcat/webapps/\nCMD ["catalina.sh", "run"]\n',
            id="war-to-tomcat",
        ),
        pytest.param(
            MAVEN + "RUN mvn package\nCMD java -jar target/app.jar > /var/log/app.log 2>&1\n",
            id="shell-cmd-redirect",
        ),
        pytest.param(
            MAVEN + "RUN mvn package\nCMD java -jar target/app.jar && echo done\n",
            id="shell-cmd-operator",
        ),
        pytest.param(
            MAVEN + "RUN mvn package\n"
            "HEALTHCHECK CMD curl -f http://localhost:8080/actuator/health || exit 1\n"
            'CMD ["java", "-jar", "target/app.jar"]\n',
            id="healthcheck-curl",
        ),
        pytest.param(
            "FROM alpine AS build\nRUN echo hi\n"
            "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /src\nCOPY . .\nRUN mvn package\n"
            'CMD ["java", "-jar", "target/app.jar"]\n',
            id="stage-named-build-exists",
        ),
        pytest.param(
            "FROM maven:3.9-eclipse-temurin-21 AS app\nWORKDIR /src\nCOPY . .\n"
            'RUN mvn package\nCMD ["java", "-jar", "target/app.jar"]\n',
            id="final-stage-named",
        ),
        pytest.param(
            "FROM gradle:7-jdk15\nWORKDIR /src\nCOPY . .\nRUN gradle build\n"
            'CMD ["java", "-jar", "build/libs/app.jar"]\n',
            id="unknown-major",
        ),
        pytest.param(
            "FROM maven:3.9\nWORKDIR /src\nCOPY . .\nRUN mvn package\n"
            'CMD ["java", "-jar", "target/app.jar"]\n',
            id="major-not-named",
        ),
        pytest.param(
            "FROM openjdk:17\nWORKDIR /src\nCOPY . .\nRUN ./mvnw package\n"
            'CMD ["java", "-jar", "target/app.jar"]\n',
            id="openjdk-deprecated",
        ),
        pytest.param(
            MAVEN + 'RUN mvn package\nCMD ["java", "-jar", "target/*.jar"]\n',
            id="glob-in-exec-form-is-literal",
        ),
        pytest.param(
            MAVEN + "RUN mvn package\nCMD java -jar target/app.jar config/*.yml\n",
            id="glob-in-arguments",
        ),
        pytest.param(
            MAVEN + "RUN mvn package\nCOPY config /src/config\n"
            'CMD ["java", "-jar", "target/app.jar"]\n',
            id="copy-after-build",
        ),
        pytest.param(
            MAVEN + "RUN apt-get update && apt-get install -y fontconfig\nRUN mvn package\n"
            'CMD ["java", "-jar", "target/app.jar"]\n',
            id="package-install",
        ),
        pytest.param(
            MAVEN + "RUN useradd app\nRUN mvn package\nUSER app\n"
            'CMD ["java", "-jar", "target/app.jar"]\n',
            id="named-user",
        ),
        pytest.param(
            MAVEN + "RUN mvn package\nRUN java -Djarmode=layertools -jar target/app.jar extract\n"
            'CMD ["java", "-jar", "target/app.jar"]\n',
            id="run-after-build",
        ),
        pytest.param(
            MAVEN
            + 'RUN mvn package spring-boot:repackage\nCMD ["java", "-jar", "target/app.jar"]\n',
            id="unknown-goal",
        ),
        pytest.param(MAVEN + 'RUN mvn package\nCMD ["./run.sh"]\n', id="not-java"),
        pytest.param(MAVEN + "RUN mvn package\n", id="no-cmd"),
        pytest.param(
            MAVEN
            + 'ARG DATA=/data\nRUN mvn package\nVOLUME $DATA\nCMD ["java", "-jar", "target/app.jar"]\n',
            id="volume-variable",
        ),
        pytest.param(
            MAVEN
            + 'RUN mvn package\nENV JAVA_HOME=/opt/jdk\nCMD ["java", "-jar", "target/app.jar"]\n',
            id="java-home-after-build",
        ),
        pytest.param(
            "FROM maven:3.9-eclipse-temurin-21\nENV JAVA_HOME=/opt/jdk APP_MODE=prod\n"
            'WORKDIR /src\nCOPY . .\nRUN mvn package\nCMD ["java", "-jar", "target/app.jar"]\n',
            id="mixed-env",
        ),
        pytest.param(
            "FROM maven:3.9-eclipse-temurin-21\nUSER 1000\n"
            'WORKDIR /src\nCOPY . .\nRUN mvn package\nCMD ["java", "-jar", "target/app.jar"]\n',
            id="user-before-build",
        ),
        pytest.param(
            MAVEN + 'RUN ["mvn", "dependency:go-offline"]\nRUN mvn package\n'
            'CMD ["java", "-jar", "target/app.jar"]\n',
            id="exec-form-run",
        ),
        pytest.param(
            "FROM maven:3.9-eclipse-temurin-21\nWORKDIR $APP\nCOPY . .\nRUN mvn package\n"
            'CMD ["java", "-jar", "target/app.jar"]\n',
            id="workdir-variable",
        ),
        pytest.param(
            MAVEN + 'RUN mvn package\nENTRYPOINT ["java", "-jar", "target/app.jar"]\nCMD --debug\n',
            id="shell-cmd-with-entrypoint",
        ),
    ],
)
def test_no_fix(src: str) -> None:
    found = hits(src)
    assert len(found) == 1
    assert found[0].fix is None


def test_onbuild_is_not_converted() -> None:
    """KH125 leaves images with ONBUILD (bases for others) alone; the builder refuses too."""
    src = MAVEN + 'ONBUILD COPY . /src\nRUN mvn package\nCMD ["java", "-jar", "target/app.jar"]\n'
    assert hits(src) == []
    ctx = DockerfileContext.of(parse(src))
    assert ctx.final_stage is not None
    step = next(build_steps(stage_runs(ctx, ctx.final_stage), {}))
    assert step.ecosystem == "java"
    assert java_multistage_fix(ctx, step) is None
    # without the ONBUILD the same file is converted: the test can fail
    plain = src.replace("ONBUILD COPY . /src\n", "")
    ctx = DockerfileContext.of(parse(plain))
    assert ctx.final_stage is not None
    step = next(build_steps(stage_runs(ctx, ctx.final_stage), {}))
    assert java_multistage_fix(ctx, step) is not None


JAVA_APP = (
    "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /src\nCOPY . .\n"
    "RUN mvn -B package -DskipTests\nEXPOSE 8080\nCMD java -jar target/*.jar\n"
)


def test_composes_with_other_fixes_and_is_idempotent() -> None:
    once = fix(JAVA_APP, ("KH125",), unsafe=True)
    assert once.startswith("FROM maven:3.9-eclipse-temurin-21 AS build\n")
    assert "FROM eclipse-temurin:21-jre\n" in once
    assert fix(once, ("KH125",), unsafe=True) == once
    # with every rule: still parses (ours and BuildKit's), the runtime stage is the JRE one
    everything = fix(JAVA_APP, None, unsafe=True)
    tree = parse(everything)
    assert not tree.errors
    buildkit_parses(everything)
    stages = resolve(tree).stages
    assert stages[-1].base == "eclipse-temurin:21-jre"
    assert stages[-2].name == "build"
    copies = [i for i in stages[-1].instructions if i.name == "COPY"]
    assert copies[0].values[0] == "/src/target/*.jar"
    assert fix(everything, None, unsafe=True) == everything


def test_safe_mode_leaves_it() -> None:
    assert fix(JAVA_APP, ("KH125",), unsafe=False) == JAVA_APP


def test_cli_unsafe_fixes_converts_and_safe_mode_does_not(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(JAVA_APP)
    picked = ("--no-config", "--select", "KH125")
    safe = run("fix", *picked, cwd=tmp_path)
    assert safe.returncode == 0, safe.stderr
    assert (tmp_path / "Dockerfile").read_text() == JAVA_APP
    done = run("fix", *picked, "--unsafe-fixes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    after = (tmp_path / "Dockerfile").read_text()
    assert after == fix(JAVA_APP, ("KH125",), unsafe=True)
    assert "FROM eclipse-temurin:21-jre\n" in after
    buildkit_parses(after)
    again = run("fix", *picked, "--unsafe-fixes", "--check", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr


def test_keyword_casing_and_indentation_of_the_command_are_kept() -> None:
    after = fixed(MAVEN + "RUN mvn package\n  cmd java -jar target/app.jar\n")
    assert after is not None
    assert after.endswith('\n  cmd ["java", "-jar", "/app/app.jar"]\n')


def test_last_line_without_line_break_stays_so() -> None:
    src = MAVEN + 'RUN mvn package\nCMD ["java", "-jar", "target/app.jar"]'
    after = fixed(src)
    assert after is not None
    assert after.endswith('CMD ["java", "-jar", "/app/app.jar"]')
