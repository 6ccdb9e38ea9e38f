"""KH183's unsafe fix: copy the build files alone and download the dependencies before the
sources are copied (`mvn dependency:go-offline`, `go mod download`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.checking import Checker, Target
from keelhaul.config import ConfigFinder, Overrides
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Finding
from keelhaul.fix.fixing import FixOutcome, fix_target
from keelhaul.rules.dockerfile.build_cache._fetch_fixes import WHY_UNSAFE
from keelhaul.rules.engine import dockerfile_rules
from keelhaul.selection import Vocabulary

RULES = dockerfile_rules()
VOCABULARY = Vocabulary(RULES)
POM = "<project><modelVersion>4.0.0</modelVersion></project>\n"
GO_MOD = "module example.com/svc\n\ngo 1.22\n\nrequire github.com/go-chi/chi/v5 v5.0.12\n"
MVN = "FROM maven:3-eclipse-temurin-17\nWORKDIR /app\n"
GO = "FROM golang:1.22\nWORKDIR /src\n"


def run_fix(src: str, root: Path | None, files: dict[str, str], unsafe: bool = True) -> FixOutcome:
    finder = ConfigFinder(VOCABULARY, isolated=True, overrides=Overrides(select=("KH183",)))
    checker = Checker(finder, VOCABULARY, RULES, shellcheck=None)
    if root is None:
        target = Target(Path("-"), "-", True, src.encode())
    else:
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        target = Target(root / "Dockerfile", "Dockerfile", True, src.encode())
    return fix_target(checker, target, src, unsafe)


def kh183(outcome: FixOutcome) -> list[Finding]:
    return [f for f in outcome.remaining if f.code == "KH183"]


@pytest.mark.parametrize(
    ("src", "files", "after"),
    [
        pytest.param(
            MVN + "COPY . .\nRUN mvn -B package\n",
            {"pom.xml": POM, "src/main/java/App.java": "class App {}\n"},
            MVN
            + "COPY pom.xml .\nRUN mvn -B dependency:go-offline\nCOPY . .\nRUN mvn -B package\n",
            id="maven",
        ),
        pytest.param(
            MVN + "COPY . /build\nWORKDIR /build\nRUN mvn -q -DskipTests=true clean package\n",
            {"pom.xml": POM},
            None,
            id="maven-workdir-between",
        ),
        pytest.param(
            "FROM maven:3-eclipse-temurin-17 AS build\nWORKDIR /build\n"
            "COPY --chown=1000 . .\nRUN mvn --batch-mode -DskipTests=true -ntp clean package\n",
            {"pom.xml": POM},
            "FROM maven:3-eclipse-temurin-17 AS build\nWORKDIR /build\n"
            "COPY --chown=1000 pom.xml .\nRUN mvn --batch-mode -ntp dependency:go-offline\n"
            "COPY --chown=1000 . .\nRUN mvn --batch-mode -DskipTests=true -ntp clean package\n",
            id="maven-options-kept-and-dropped",
        ),
        pytest.param(
            GO + "COPY . .\nRUN CGO_ENABLED=0 go build -o /out/svc ./cmd/svc\n",
            {"go.mod": GO_MOD, "go.sum": "github.com/go-chi/chi/v5 v5.0.12 h1:x=\n"},
            GO + "COPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n"
            "RUN CGO_ENABLED=0 go build -o /out/svc ./cmd/svc\n",
            id="go",
        ),
        pytest.param(
            GO + "COPY . .\nRUN go build -o /out/svc .\n",
            {
                "go.mod": "module example.com/svc\n\ngo 1.22\n\nrequire (\n\tgolang.org/x/text v0.14.0\n)\n"
            },
            GO + "COPY go.mod .\nRUN go mod download\nCOPY . .\nRUN go build -o /out/svc .\n",
            id="go-without-go-sum",
        ),
    ],
)
def test_fix(src: str, files: dict[str, str], after: str | None, tmp_path: Path) -> None:
    outcome = run_fix(src, tmp_path, files)
    assert outcome.bug is None
    if after is None:
        assert outcome.after == src
        assert [f.fix for f in kh183(outcome)] == [None]
        return
    assert outcome.after == after
    assert not parse(outcome.after).errors
    applied = [f for f in outcome.applied if f.code == "KH183"]
    assert len(applied) == 1
    assert applied[0].fix is not None
    assert applied[0].fix.why_unsafe == WHY_UNSAFE
    assert not kh183(outcome)  # quiet on the result: the download ran before the sources


@pytest.mark.parametrize(
    ("src", "files"),
    [
        pytest.param(
            MVN + "COPY . .\nRUN mvn -B package\n",
            {"pom.xml": "<project><modules><module>api</module></modules></project>\n"},
            id="maven-modules",
        ),
        pytest.param(
            MVN + "COPY . .\nRUN mvn -B -s settings.xml package\n",
            {"pom.xml": POM, "settings.xml": "<settings/>\n"},
            id="maven-settings-file",
        ),
        pytest.param(
            MVN + "COPY . .\nRUN ./mvnw -B package\n",
            {"pom.xml": POM, "mvnw": "#!/bin/sh\n"},
            id="maven-wrapper",
        ),
        pytest.param(
            MVN + "COPY . .\nENV MAVEN_OPTS=-Xmx1g\nRUN mvn -B package\n",
            {"pom.xml": POM},
            id="maven-env-between",
        ),
        pytest.param(
            GO + "COPY . .\nRUN go build -o /out/svc .\n",
            {"go.mod": GO_MOD + "\nreplace example.com/lib => ./lib\n"},
            id="go-local-replace",
        ),
        pytest.param(
            GO + "COPY . .\nRUN go build -o /out/svc .\n",
            {"go.mod": GO_MOD, "go.work": "go 1.22\nuse .\n"},
            id="go-workspace",
        ),
    ],
)
def test_no_fix(src: str, files: dict[str, str], tmp_path: Path) -> None:
    outcome = run_fix(src, tmp_path, files)
    assert outcome.after == src
    found = kh183(outcome)
    assert len(found) == 1
    assert found[0].fix is None


@pytest.mark.parametrize(
    ("src", "files"),
    [
        pytest.param(
            GO + "COPY . .\nRUN go build -o /out/svc .\n",
            {"go.mod": "module example.com/svc\n\ngo 1.22\n"},
            id="go-module-without-dependencies",
        ),
        pytest.param(
            GO + "COPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go build -o /x .\n",
            {"go.mod": GO_MOD, "go.sum": ""},
            id="go-already-split",
        ),
        pytest.param(
            GO + "COPY . .\nRUN go install example.com/tool@v1.2.3\n",
            {"go.mod": GO_MOD},
            id="go-install-of-a-tool",
        ),
    ],
)
def test_quiet(src: str, files: dict[str, str], tmp_path: Path) -> None:
    assert not kh183(run_fix(src, tmp_path, files, unsafe=False))


def test_go_without_the_context_is_quiet() -> None:
    """Without the build context keelhaul cannot tell a module without dependencies."""
    assert not kh183(run_fix(GO + "COPY . .\nRUN go build .\n", None, {}, unsafe=False))


def test_safe_mode_leaves_it(tmp_path: Path) -> None:
    src = MVN + "COPY . .\nRUN mvn -B package\n"
    outcome = run_fix(src, tmp_path, {"pom.xml": POM}, unsafe=False)
    assert outcome.after == src
    assert len(kh183(outcome)) == 1
