"""``docker run`` command lines: the CLI's flag grammar and where the lines are found."""

from __future__ import annotations

import pytest

from keelhaul.runtime.docker_run import read_docker_run
from keelhaul.runtime.model import ContainerRun, Source


def run_of(line: str) -> ContainerRun:
    runs = read_docker_run(line + "\n", "run.sh")
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.parametrize(
    ("line", "image"),
    [
        ("docker run nginx", "nginx"),
        ("docker run -itd --rm nginx:1 sh", "nginx:1"),
        ("docker run --privileged alpine", "alpine"),
        ("docker run --read-only alpine", "alpine"),
        ("docker run --init --rm -t alpine", "alpine"),
        ("docker run --privileged=true alpine", "alpine"),
        ("docker run -p 80:80 -e A=b -v a:/b:ro -u 1000 alpine", "alpine"),
        ("docker run -p80:80 -eA=b alpine", "alpine"),
        ("docker run --name web --network host alpine", "alpine"),
        ("docker run --cap-add NET_ADMIN --cap-drop=ALL alpine", "alpine"),
        ("docker run --some-future-flag value alpine", "alpine"),
        ("docker run --some-future-bool --rm alpine", "alpine"),
        ("docker run -- alpine --rm", "alpine"),
        ("docker container run alpine", "alpine"),
        ("docker create alpine", "alpine"),
        ("docker container create --pull always alpine", "alpine"),
        ("docker -H tcp://h:2375 run alpine", "alpine"),
        ("sudo docker run alpine", "alpine"),
        ("/usr/bin/docker run alpine", "alpine"),
        ("docker run -it -m 512m alpine", "alpine"),
        ("docker run --security-opt no-new-privileges alpine", "alpine"),
        ("docker run --mount type=bind,src=/,dst=/host alpine echo", "alpine"),
    ],
)
def test_image_is_first_non_flag(line: str, image: str) -> None:
    run = run_of(line)
    assert run.source is Source.DOCKER_RUN
    assert run.image is not None
    assert run.image.value == image


@pytest.mark.parametrize(
    "line",
    [
        "docker build -t x .",
        "docker ps",
        "docker exec web run",
        "echo docker run nginx",
        "docker compose run web",
    ],
)
def test_other_commands_are_not_runs(line: str) -> None:
    assert read_docker_run(line + "\n", "run.sh") == []


def test_flags_fill_the_run() -> None:
    run = run_of(
        "docker run --cap-add=SYS_ADMIN --cap-add NET_RAW --cap-drop ALL --privileged "
        "--read-only -u 1000:1000 --security-opt seccomp=unconfined "
        "--security-opt apparmor=unconfined --security-opt no-new-privileges:true "
        "--net host --pid=host --ipc host --uts host --userns host "
        "--tmpfs /run:rw,size=64m -v /var/run/docker.sock:/var/run/docker.sock "
        "-v named:/data --mount type=bind,source=/etc,target=/etc,readonly "
        "-e PASSWORD=hunter2 -e HOME -e TOKEN=$TOKEN --env-file .env -p 127.0.0.1:443:8443/tcp "
        "--device /dev/fuse --sysctl net.ipv4.ip_forward=1 -m 1g --cpus 2 --pids-limit 100 "
        "img"
    )
    assert [c.value for c in run.cap_add] == ["SYS_ADMIN", "NET_RAW"]
    assert [c.value for c in run.cap_drop] == ["ALL"]
    assert run.privileged is not None
    assert run.privileged.value
    assert run.read_only_root is not None
    assert run.read_only_root.value
    assert run.user is not None
    assert run.user.value == "1000:1000"
    assert run.group is not None
    assert run.group.value == "1000"
    assert run.seccomp is not None
    assert run.seccomp.value == "Unconfined"
    assert run.apparmor is not None
    assert run.apparmor.value == "Unconfined"
    assert run.no_new_privileges is not None
    assert run.no_new_privileges.value
    for field in ("host_network", "host_pid", "host_ipc", "host_uts"):
        value = getattr(run, field)
        assert value is not None, field
        assert value.value is True, field
    assert run.userns is not None
    assert run.userns.value == "host"
    assert [(m.target, m.host_path, m.read_only, m.kind) for m in run.mounts] == [
        ("/run", None, False, "tmpfs"),
        ("/var/run/docker.sock", "/var/run/docker.sock", False, "bind"),
        ("/data", None, False, "volume"),
        ("/etc", "/etc", True, "bind"),
    ]
    assert [(e.name, e.value) for e in run.env] == [
        ("PASSWORD", "hunter2"),
        ("HOME", None),
        ("TOKEN", None),
    ]
    assert run.extra["env_file"] == (".env",)
    assert [(p.container_port, p.host_port, p.protocol) for p in run.ports] == [(8443, 443, "tcp")]
    assert [d.value for d in run.devices] == ["/dev/fuse"]
    assert [s.value for s in run.sysctls] == ["net.ipv4.ip_forward=1"]
    assert run.memory_limit is not None
    assert run.memory_limit.value == "1g"
    assert run.cpu_limit is not None
    assert run.cpu_limit.value == "2"
    assert run.pids_limit is not None
    assert run.pids_limit.value == "100"


def test_boolean_flag_values() -> None:
    assert run_of("docker run --privileged=false a").privileged.value is False  # type: ignore[union-attr]
    assert run_of("docker run --read-only=true a").read_only_root.value is True  # type: ignore[union-attr]
    assert run_of("docker run --privileged=$PRIV a").privileged is None


def test_positions_over_continuation_lines() -> None:
    text = "#!/bin/sh\nset -e\ndocker run --rm \\\n  --cap-add SYS_ADMIN \\\n  alpine:3\n"
    [run] = read_docker_run(text, "run.sh")
    assert (run.where.line, run.where.column) == (3, 1)
    assert run.workload == "docker run (line 3)"
    assert (run.cap_add[0].where.line, run.cap_add[0].where.column) == (4, 13)
    assert run.image is not None
    assert (run.image.where.line, run.image.where.column) == (5, 3)


def test_makefile_recipes() -> None:
    text = "IMG = x\nrun:\n\t@docker run -d -p 443:443 --name $$NAME $(IMG)\n\techo docker run\n"
    [run] = read_docker_run(text, "Makefile")
    assert (run.where.line, run.where.column) == (3, 3)
    assert run.image is not None
    assert run.image.value == "$(IMG)"
    assert [p.container_port for p in run.ports] == [443]


def test_github_actions_run_blocks() -> None:
    text = (
        "jobs:\n"
        "  t:\n"
        "    steps:\n"
        "      - run: docker run --rm alpine:3 true\n"
        "      - name: x\n"
        "        run: |\n"
        "          echo start\n"
        "          docker run \\\n"
        "            --user 1000 postgres\n"
    )
    runs = read_docker_run(text, ".github/workflows/ci.yml")
    assert [(r.image.value if r.image else None, r.where.line, r.where.column) for r in runs] == [
        ("alpine:3", 4, 14),
        ("postgres", 8, 11),
    ]
    assert runs[1].user is not None
    assert runs[1].user.where.line == 9


def test_gitlab_scripts() -> None:
    text = (
        "test:\n  before_script:\n    - docker login\n  script:\n"
        "    - docker run -e DB_PASSWORD=hunter2 mysql\n"
    )
    [run] = read_docker_run(text, ".gitlab-ci.yml")
    assert (run.where.line, run.env[0].where.line) == (5, 5)


def test_readme_code_blocks() -> None:
    text = (
        "# Title\n\ndocker run in prose is not a command\n\n"
        "```console\n$ docker run --privileged \\\n    alpine\noutput docker run nope\n```\n\n"
        "```python\ndocker run x\n```\n\n"
        "```sh\ndocker create -m 512m redis\n```\n"
        "```bash\n# start it\ndocker run -d nginx:1\n```\n"
    )
    runs = read_docker_run(text, "README.md")
    assert [(r.image.value if r.image else None, r.where.line, r.where.column) for r in runs] == [
        ("alpine", 6, 3),
        ("redis", 16, 1),
        ("nginx:1", 20, 1),
    ]


def test_checks_run_on_command_lines() -> None:
    from keelhaul.runtime.checking import check_runs

    runs = read_docker_run("docker run --privileged -v /:/host alpine:3\n", "run.sh")
    findings = check_runs(runs)
    assert findings
    assert all(f.location.line == 1 for f in findings)


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        # single quotes: the shell expands nothing, every `$` is the value's (written `$$`)
        ("-e DB_PASSWORD='Xk9#mQ2$vL7pR4wZ'", "Xk9#mQ2$$vL7pR4wZ"),
        ("-e 'DB_PASSWORD=$ecretPa55'", "$$ecretPa55"),
        ("--env='PW=${NOT_EXPANDED}'", "$${NOT_EXPANDED}"),
        ("-e PW=$'a$b'", "a$$b"),
        ('-e PW="\\$ecretPa55"', "$$ecretPa55"),
        ("-e PW=\\$ecretPa55", "$$ecretPa55"),
        # the same one test as Compose (keelhaul.secrets.is_reference) for what the shell reads
        ("-e DB_PASSWORD=Xk9#mQ2$vL7pR4wZ", "Xk9#mQ2$vL7pR4wZ"),
        ('-e DB_PASSWORD="Xk9#mQ2$vL7pR4wZ"', "Xk9#mQ2$vL7pR4wZ"),
        ("-ePW=plain", "plain"),
        ("-e PW=$PW", None),
        ('-e PW="$PW"', None),
        ("-e PW=${PW:-x}", None),
        ("--env PW=$(cat pw)", None),
        ("--env=PW=`cat pw`", None),
        ('-e PW="pre-`cat pw`"', None),
        ("-e PW", None),
    ],
)
def test_env_values_follow_shell_quoting(flag: str, value: str | None) -> None:
    [env] = run_of(f"docker run {flag} img").env
    assert env.value == value


def test_env_values_in_sh_c_strings_are_read_as_the_inner_shell_reads_them() -> None:
    run = run_of("sh -c 'docker run -e PW=$PW -e DB_PASSWORD=Xk9#mQ2$vL7pR4wZ img'")
    assert [(e.name, e.value) for e in run.env] == [
        ("PW", None),
        ("DB_PASSWORD", "Xk9#mQ2$vL7pR4wZ"),
    ]
