"""KH125's unsafe fix for a Go program: build stage, then a distroless (or scratch) runtime."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from keelhaul.dockerfile.edits import apply_edits
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Safety
from keelhaul.rules.dockerfile.multistage._fixes import DISTROLESS, WHY_UNSAFE
from keelhaul.rules.engine import dockerfile_rules
from keelhaul.rules.registry import DockerfileContext, Hit
from tests.fix.test_fixing import fix

KH125 = next(r for r in dockerfile_rules() if r.code == "KH125")
HEAD = "FROM golang:1.22\nWORKDIR /src\n"
RUNTIME = f"FROM {DISTROLESS}\n"


def hits(src: str, settings: dict[str, object] | None = None) -> list[Hit]:
    return list(KH125.check(DockerfileContext.of(parse(src), settings=settings)))


def fixed(src: str, settings: dict[str, object] | None = None) -> str | None:
    found = hits(src, settings)
    assert len(found) == 1, "KH125 must flag the case"
    f = found[0].fix
    return None if f is None else apply_edits(src, f.edits)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "FROM golang:1.22\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\n"
            "COPY . .\nRUN go build -o /bin/app ./cmd/app\nEXPOSE 8080\n"
            'CMD ["app", "serve"]\n',
            "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\n"
            "COPY . .\nRUN CGO_ENABLED=0 go build -o /bin/app ./cmd/app\n"
            f"{RUNTIME}COPY --from=build /bin/app /app\nEXPOSE 8080\n"
            'CMD ["/app", "serve"]\n',
            id="typical",
        ),
        pytest.param(
            HEAD + "COPY . .\nRUN go build -o app .\nENTRYPOINT ./app --port 80\n",
            "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\n"
            "RUN CGO_ENABLED=0 go build -o app .\n"
            f"{RUNTIME}COPY --from=build /src/app /app\n"
            'ENTRYPOINT ["/app", "--port", "80"]\n',
            id="relative-output-shell-form",
        ),
        pytest.param(
            "FROM golang:1.22@sha256:" + "a" * 64 + "\nLABEL org.opencontainers.image.title=x\n"
            "ENV PORT=80\nENV GOFLAGS=-mod=vendor\nWORKDIR /src\nCOPY . .\n"
            "RUN go build -ldflags='-s -w' -o=/out/srv .\nUSER 1000:1000\n"
            'ENTRYPOINT ["/out/srv"]\nCMD ["--verbose"]\n',
            "FROM golang:1.22@sha256:" + "a" * 64 + " AS build\n"
            "ENV PORT=80\nENV GOFLAGS=-mod=vendor\nWORKDIR /src\nCOPY . .\n"
            "RUN CGO_ENABLED=0 go build -ldflags='-s -w' -o=/out/srv .\n"
            f"{RUNTIME}COPY --from=build /out/srv /srv\n"
            "LABEL org.opencontainers.image.title=x\nENV PORT=80\nUSER 1000:1000\n"
            'ENTRYPOINT ["/srv"]\nCMD ["--verbose"]\n',
            id="digest-label-moved-env-repeated-user-kept",
        ),
        pytest.param(
            HEAD + "COPY . .\nRUN go mod download && \\\n    go build -o /app/server . && \\\n"
            "    go clean -cache\n"
            'HEALTHCHECK --interval=5s CMD ["/app/server", "-health"]\nCMD ["/app/server"]\n',
            "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\n"
            "RUN go mod download && \\\n    CGO_ENABLED=0 go build -o /app/server . && \\\n"
            "    go clean -cache\n"
            f"{RUNTIME}COPY --from=build /app/server /server\n"
            'HEALTHCHECK --interval=5s CMD ["/server", "-health"]\nCMD ["/server"]\n',
            id="continuation-healthcheck",
        ),
        pytest.param(
            "FROM golang:1.22\r\nWORKDIR /src\r\nCOPY . .\r\n"
            'RUN CGO_ENABLED=0 GOOS=linux go build -o /bin/app .\r\nCMD ["/bin/app"]\r\n',
            "FROM golang:1.22 AS build\r\nWORKDIR /src\r\nCOPY . .\r\n"
            "RUN CGO_ENABLED=0 GOOS=linux go build -o /bin/app .\r\n"
            f'FROM {DISTROLESS}\r\nCOPY --from=build /bin/app /app\r\nCMD ["/app"]\r\n',
            id="crlf-cgo-already-off",
        ),
        pytest.param(
            "FROM golang:1.22\nENV CGO_ENABLED=0\nWORKDIR /src\nCOPY . .\n"
            'RUN GOOS=linux go build -o /bin/app .\nCMD ["app"]\n',
            "FROM golang:1.22 AS build\nENV CGO_ENABLED=0\nWORKDIR /src\nCOPY . .\n"
            "RUN GOOS=linux go build -o /bin/app .\n"
            f'{RUNTIME}COPY --from=build /bin/app /app\nCMD ["/app"]\n',
            id="env-cgo-off-assignment-prefix",
        ),
    ],
)
def test_fix(before: str, after: str) -> None:
    assert fixed(before) == after
    found = hits(before)[0].fix
    assert found is not None
    assert found.safety is Safety.UNSAFE
    assert found.why_unsafe == WHY_UNSAFE
    # the result parses, has one more stage, and KH125 is quiet on it
    tree = parse(after)
    assert not tree.errors
    assert len(resolve(tree).stages) == 2
    assert hits(after) == []


def test_scratch_setting() -> None:
    src = HEAD + 'COPY . .\nRUN go build -o /bin/app .\nCMD ["app"]\n'
    assert fixed(src, {"static-base": "scratch"}) == (
        "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\n"
        "RUN CGO_ENABLED=0 go build -o /bin/app .\n"
        'FROM scratch\nCOPY --from=build /bin/app /app\nUSER 65532:65532\nCMD ["/app"]\n'
    )


@pytest.mark.parametrize(
    "src",
    [
        pytest.param(HEAD + 'COPY . .\nRUN go build .\nCMD ["./src"]\n', id="no-output"),
        pytest.param(HEAD + 'COPY . .\nRUN go build -o out/ ./...\nCMD ["app"]\n', id="folder"),
        pytest.param(HEAD + 'COPY . .\nRUN go build -o $OUT .\nCMD ["app"]\n', id="variable"),
        pytest.param(
            HEAD + 'COPY . .\nRUN CGO_ENABLED=1 go build -o /bin/app .\nCMD ["app"]\n', id="cgo"
        ),
        pytest.param(
            "FROM golang:1.22\nENV CGO_ENABLED=1\nWORKDIR /src\nCOPY . .\n"
            'RUN go build -o /bin/app .\nCMD ["app"]\n',
            id="cgo-env",
        ),
        pytest.param(
            HEAD + "COPY . .\nRUN go build -o /bin/app .\n"
            'HEALTHCHECK CMD curl -f http://localhost/ || exit 1\nCMD ["app"]\n',
            id="shell-healthcheck",
        ),
        pytest.param(
            HEAD + 'COPY . .\nRUN go build -o /bin/app .\nRUN go test ./...\nCMD ["app"]\n',
            id="run-after-build",
        ),
        pytest.param(
            HEAD + 'COPY . .\nRUN go build -o /bin/a ./a && go build -o /bin/b ./b\nCMD ["a"]\n',
            id="multi-binary",
        ),
        pytest.param(
            HEAD + 'COPY . .\nRUN go build -o /bin/app .\nCOPY config.yml /etc/app/\nCMD ["app"]\n',
            id="copy-after-build",
        ),
        pytest.param(
            HEAD + "RUN apt-get update && apt-get install -y libsqlite3-0\nCOPY . .\n"
            'RUN go build -o /bin/app .\nCMD ["app"]\n',
            id="package-install",
        ),
        pytest.param(
            HEAD + "COPY . .\nRUN go build -o /bin/app .\nCMD app | tee log\n", id="shell-cmd"
        ),
        pytest.param(
            HEAD + 'COPY . .\nRUN go build -o /bin/app .\nCMD ["sh", "-c", "app"]\n',
            id="cmd-not-binary",
        ),
        pytest.param(HEAD + "COPY . .\nRUN go build -o /bin/app .\n", id="no-cmd"),
        pytest.param(
            HEAD + 'COPY . .\nRUN go build -o /bin/app .\nUSER app\nCMD ["app"]\n',
            id="named-user",
        ),
        pytest.param(
            "FROM golang:1.22 AS app\nWORKDIR /src\nCOPY . .\nRUN go build -o /bin/app .\n"
            'CMD ["app"]\n',
            id="named-stage",
        ),
        pytest.param(
            'FROM debian:12\nWORKDIR /src\nCOPY . .\nRUN go build -o /bin/app .\nCMD ["app"]\n',
            id="not-golang",
        ),
        pytest.param(
            HEAD + 'COPY . .\nRUN go build -o /src/app .\nCMD ["app"]\n', id="not-on-path"
        ),
    ],
)
def test_no_fix(src: str) -> None:
    found = hits(src)
    assert len(found) == 1
    assert found[0].fix is None


def test_composes_with_other_fixes_and_is_idempotent() -> None:
    src = 'FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /bin/app .\nCMD ["app"]\n'
    once = fix(src, ("KH125",), unsafe=True)
    assert once.startswith("FROM golang:1.22 AS build\n")
    assert fix(once, ("KH125",), unsafe=True) == once
    # with every rule: still parses, and the final stage is the runtime one
    everything = fix(src, None, unsafe=True)
    tree = parse(everything)
    assert not tree.errors
    final = resolve(tree).stages[-1]
    assert final.base in (DISTROLESS, "scratch") or final.base.startswith("gcr.io/distroless/")
    assert fix(everything, None, unsafe=True) == everything


def test_safe_mode_leaves_it() -> None:
    src = 'FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /bin/app .\nCMD ["app"]\n'
    assert fix(src, ("KH125",), unsafe=False) == src


# --------------------------------------------------------------------------- a real build


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


#: A stand-in for the golang image: the engine's Debian base plus this machine's own Go
#: toolchain (GOROOT); no registry, no network.
GO_TOOL = (
    "ARG BASE\nFROM ${BASE}\nCOPY goroot /usr/local/go\n"
    "ENV GOROOT=/usr/local/go PATH=/usr/local/go/bin:$PATH GOPROXY=off GOFLAGS=-mod=mod\n"
)
GO_PROJECT = (
    "FROM golang:1.22\nWORKDIR /src\nCOPY go.mod main.go ./\nRUN go build -o /usr/local/bin/hello .\n"
    'CMD ["hello", "world"]\n'
)


@pytest.mark.docker
def test_fixed_image_runs_the_same_and_is_much_smaller(docker_engine: str, tmp_path: Path) -> None:
    go = shutil.which("go")
    if go is None:
        pytest.skip("no `go` binary on this machine to make an offline Go image from")
    goroot = subprocess.run(
        [go, "env", "GOROOT"], capture_output=True, text=True, check=True
    ).stdout.strip()
    run_id = uuid.uuid4().hex[:12]
    tool_tag = f"keelhaul-test/go:{run_id}"
    tags: list[str] = []
    tool = tmp_path / "tool"
    tool.mkdir()
    shutil.copytree(goroot, tool / "goroot", symlinks=False,
                    ignore=shutil.ignore_patterns("testdata", "*_test.go", "test", "doc"))  # fmt: skip
    (tool / "Dockerfile").write_text(GO_TOOL)
    built = _docker("build", "--build-arg", f"BASE={docker_engine}", "-t", tool_tag, str(tool))
    assert built.returncode == 0, built.stdout + built.stderr
    try:
        after = fixed(GO_PROJECT, {"static-base": "scratch"})
        assert after is not None
        sizes: dict[str, int] = {}
        outputs: dict[str, str] = {}
        for name, text in (("before", GO_PROJECT), ("after", after)):
            folder = tmp_path / name
            folder.mkdir()
            (folder / "go.mod").write_text("module example.com/hello\n\ngo 1.19\n")
            (folder / "main.go").write_text(
                'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\n'
                'func main() { fmt.Println("hello", os.Args[1:]) }\n'
            )
            (folder / "Dockerfile").write_text(text.replace("golang:1.22", tool_tag))
            tags.append(f"keelhaul-test/multistage-fix:{run_id}-{name}")
            done = _docker("build", "-t", tags[-1], str(folder))
            assert done.returncode == 0, done.stdout + done.stderr
            ran = _docker("run", "--rm", "--network", "none", tags[-1])
            assert ran.returncode == 0, ran.stderr
            outputs[name] = ran.stdout
            size = _docker("image", "inspect", "--format", "{{.Size}}", tags[-1])
            sizes[name] = int(size.stdout.strip())
        assert outputs["before"] == outputs["after"] == "hello [world]\n"
        assert sizes["after"] * 5 < sizes["before"], sizes
    finally:
        for tag in [*reversed(tags), tool_tag]:
            _docker("rmi", "-f", tag)
