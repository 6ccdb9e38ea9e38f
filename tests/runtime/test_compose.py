"""The Compose reader: services become ContainerRun objects with every value located."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.errors import KeelhaulError
from keelhaul.runtime.compose import has_variable, looks_like_compose, read_compose
from keelhaul.runtime.model import ContainerRun, Source
from tests.corpus import check_every_file, corpus_bytes, corpus_id, require_corpus


def one(text: str, service: str = "web") -> ContainerRun:
    runs = {r.name: r for r in read_compose(text, "compose.yaml")}
    return runs[service]


def test_basic_fields_and_positions() -> None:
    run = one(
        "services:\n"
        "  web:\n"
        "    image: nginx:1.25\n"
        "    user: '1000:2000'\n"
        "    privileged: true\n"
        "    read_only: true\n"
        "    cap_add: [NET_ADMIN]\n"
        "    cap_drop:\n"
        "      - ALL\n"
        "    pull_policy: always\n"
        "    userns_mode: host\n"
    )
    assert run.source is Source.COMPOSE
    assert run.workload == "service web"
    assert (run.where.line, run.where.column) == (2, 3)
    assert run.image is not None
    assert run.image.value == "nginx:1.25"
    assert (run.image.where.line, run.image.where.column) == (3, 12)
    assert run.user is not None
    assert run.user.value == "1000:2000"
    assert run.group is not None
    assert run.group.value == "2000"
    assert run.privileged is not None
    assert run.privileged.value is True
    assert run.read_only_root is not None
    assert run.read_only_root.value is True
    assert [c.value for c in run.cap_add] == ["NET_ADMIN"]
    assert [(c.value, c.where.line) for c in run.cap_drop] == [("ALL", 9)]
    assert run.pull_policy is not None
    assert run.pull_policy.value == "always"
    assert run.userns is not None
    assert run.userns.value == "host"


@pytest.mark.parametrize(
    ("opt", "field", "value"),
    [
        ("no-new-privileges", "no_new_privileges", True),
        ("no-new-privileges:true", "no_new_privileges", True),
        ("no-new-privileges=true", "no_new_privileges", True),
        ("no-new-privileges:false", "no_new_privileges", False),
        ("seccomp=unconfined", "seccomp", "Unconfined"),
        ("seccomp:unconfined", "seccomp", "Unconfined"),
        ("seccomp=./profile.json", "seccomp", "./profile.json"),
        ("apparmor=unconfined", "apparmor", "Unconfined"),
        ("apparmor:docker-default", "apparmor", "docker-default"),
        ("label=disable", "selinux", "disable"),
        ("label:type:svirt_apache_t", "selinux", "type:svirt_apache_t"),
    ],
)
def test_security_opt(opt: str, field: str, value: object) -> None:
    run = one(f"services:\n  web:\n    image: a\n    security_opt: ['{opt}']\n")
    got = getattr(run, field)
    assert got is not None
    assert got.value == value


@pytest.mark.parametrize(
    ("lines", "network", "pid", "ipc"),
    [
        ("network_mode: host\n    pid: host\n    ipc: host", True, True, True),
        ("network_mode: bridge\n    pid: 'service:db'\n    ipc: shareable", False, False, False),
        ("image: a", None, None, None),
        ("network_mode: ${NET}", None, None, None),
    ],
)
def test_host_namespaces(
    lines: str, network: bool | None, pid: bool | None, ipc: bool | None
) -> None:
    run = one(f"services:\n  web:\n    {lines}\n")
    assert (run.host_network.value if run.host_network else None) == network
    assert (run.host_pid.value if run.host_pid else None) == pid
    assert (run.host_ipc.value if run.host_ipc else None) == ipc


def test_volumes_short_and_long() -> None:
    run = one(
        "services:\n"
        "  web:\n"
        "    image: a\n"
        "    volumes:\n"
        "      - /var/run/docker.sock:/var/run/docker.sock:ro\n"
        "      - ./data:/data\n"
        "      - cache:/cache:rw\n"
        "      - /anonymous\n"
        "      - ~/x:/x:ro,z\n"
        "      - type: bind\n"
        "        source: /etc\n"
        "        target: /host/etc\n"
        "        read_only: true\n"
        "      - type: volume\n"
        "        source: v\n"
        "        target: /v\n"
        "    tmpfs: /run\n"
    )
    got = [(m.target, m.host_path, m.read_only, m.kind, m.where.line) for m in run.mounts]
    assert got == [
        ("/var/run/docker.sock", "/var/run/docker.sock", True, "bind", 5),
        ("/data", "./data", False, "bind", 6),
        ("/cache", None, False, "volume", 7),
        ("/anonymous", None, False, "volume", 8),
        ("/x", "~/x", True, "bind", 9),
        ("/host/etc", "/etc", True, "bind", 10),
        ("/v", None, False, "volume", 14),
        ("/run", None, False, "tmpfs", 17),
    ]


def test_ports_short_long_and_ranges() -> None:
    run = one(
        "services:\n"
        "  web:\n"
        "    image: a\n"
        "    ports:\n"
        "      - 80\n"
        "      - '8080:80'\n"
        "      - 127.0.0.1:53:53/udp\n"
        "      - '9000-9002:9000-9002'\n"
        "      - '[::1]:443:8443'\n"
        "      - target: 22\n"
        "        published: 2222\n"
        "        protocol: tcp\n"
        "      - ${PORT}:80\n"
    )
    got = [(p.container_port, p.host_port, p.protocol) for p in run.ports]
    assert got == [
        (80, None, "tcp"),
        (80, 8080, "tcp"),
        (53, 53, "udp"),
        (9000, 9000, "tcp"),
        (9001, 9001, "tcp"),
        (9002, 9002, "tcp"),
        (8443, 443, "tcp"),
        (22, 2222, "tcp"),
        (80, None, "tcp"),
    ]


@pytest.mark.parametrize(
    "environment",
    [
        "environment:\n      - DB_PASSWORD=hunter2\n      - HOME\n      - EMPTY=",
        "environment:\n      DB_PASSWORD: hunter2\n      HOME:\n      EMPTY: ''",
    ],
)
def test_environment_list_and_map(environment: str) -> None:
    run = one(f"services:\n  web:\n    image: a\n    {environment}\n    env_file: .env\n")
    assert [(e.name, e.value) for e in run.env] == [
        ("DB_PASSWORD", "hunter2"),
        ("HOME", None),
        ("EMPTY", ""),
    ]
    assert run.env[0].where.line == 5
    assert run.extra["env_file"] == (".env",)


def test_resources_deploy_and_legacy() -> None:
    spec = one(
        "services:\n  web:\n    image: a\n    deploy:\n      resources:\n        limits:\n"
        "          memory: 512M\n          cpus: '0.5'\n          pids: 100\n"
    )
    assert spec.memory_limit is not None
    assert spec.memory_limit.value == "512M"
    assert spec.memory_limit.where.line == 7
    assert spec.cpu_limit is not None
    assert spec.cpu_limit.value == "0.5"
    assert spec.pids_limit is not None
    assert spec.pids_limit.value == "100"
    legacy = one(
        "version: '2.4'\nservices:\n  web:\n    image: a\n    mem_limit: 1g\n    cpus: 2\n"
        "    pids_limit: 50\n"
    )
    assert legacy.memory_limit is not None
    assert legacy.memory_limit.value == "1g"
    assert legacy.cpu_limit is not None
    assert legacy.cpu_limit.value == "2"
    assert legacy.pids_limit is not None
    assert legacy.pids_limit.value == "50"


def test_sysctls_devices() -> None:
    run = one(
        "services:\n  web:\n    image: a\n    sysctls:\n      net.core.somaxconn: 1024\n"
        "    devices:\n      - /dev/fuse:/dev/fuse\n"
    )
    assert [s.value for s in run.sysctls] == ["net.core.somaxconn=1024"]
    assert [d.value for d in run.devices] == ["/dev/fuse:/dev/fuse"]
    listed = one("services:\n  web:\n    image: a\n    sysctls: [kernel.shm_rmid_forced=1]\n")
    assert [s.value for s in listed.sysctls] == ["kernel.shm_rmid_forced=1"]


def test_anchors_merge_keys_and_x_fields() -> None:
    text = (
        "x-hardening: &hardening\n"
        "  cap_drop: [ALL]\n"
        "  read_only: true\n"
        "services:\n"
        "  web:\n"
        "    <<: *hardening\n"
        "    image: a\n"
        "  x-not-a-service:\n"
        "    image: b\n"
    )
    runs = read_compose(text, "compose.yaml")
    assert [r.name for r in runs] == ["web"]
    run = runs[0]
    assert [(c.value, c.where.line) for c in run.cap_drop] == [("ALL", 2)]
    assert run.read_only_root is not None
    assert run.read_only_root.value is True


def test_extends_same_file() -> None:
    text = (
        "services:\n"
        "  base:\n"
        "    image: a\n"
        "    cap_drop: [ALL]\n"
        "    user: '10001'\n"
        "    environment:\n"
        "      A: '1'\n"
        "  web:\n"
        "    extends: base\n"
        "    cap_add: [NET_BIND_SERVICE]\n"
        "    environment:\n"
        "      A: '2'\n"
        "  api:\n"
        "    extends:\n"
        "      service: web\n"
        "    user: root\n"
    )
    web = one(text, "web")
    assert web.image is not None
    assert web.image.value == "a"
    assert [c.value for c in web.cap_drop] == ["ALL"]
    assert [c.value for c in web.cap_add] == ["NET_BIND_SERVICE"]
    assert [(e.name, e.value) for e in web.env] == [("A", "2")]
    api = one(text, "api")
    assert api.user is not None
    assert api.user.value == "root"
    assert [c.value for c in api.cap_drop] == ["ALL"]


def test_extends_other_file(tmp_path: Path) -> None:
    (tmp_path / "common.yml").write_text(
        "services:\n  hardened:\n    image: base:1\n    read_only: true\n"
    )
    main = tmp_path / "compose.yaml"
    main.write_text(
        "services:\n  web:\n    extends:\n      file: common.yml\n      service: hardened\n"
    )
    run = read_compose(main.read_text(), str(main))[0]
    assert run.read_only_root is not None
    assert run.read_only_root.value is True
    assert run.read_only_root.where.file == str(tmp_path / "common.yml")
    assert run.image is not None
    assert run.image.value == "base:1"


def test_variables_are_kept_not_evaluated() -> None:
    run = one(
        "services:\n  web:\n    image: nginx:${TAG:-1.25}\n    privileged: ${PRIV:-false}\n"
        "    read_only: ${RO:?must be set}\n    environment:\n      - PASSWORD=$${NOT_A_VAR}\n"
        "      - TOKEN=$TOKEN\n      - KEY=${KEY:-x}\n"
    )
    assert run.image is not None
    assert run.image.value == "nginx:${TAG:-1.25}"
    assert run.privileged is None
    assert run.read_only_root is None
    assert run.extra["unresolved"] == ("privileged", "read_only")
    assert [(e.name, e.value) for e in run.env] == [
        ("PASSWORD", "$${NOT_A_VAR}"),
        ("TOKEN", None),
        ("KEY", None),
    ]
    assert has_variable("${A:-b}")
    assert has_variable("$A")
    assert not has_variable("$$A")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("services:\n  web:\n    image: a\n", True),
        ("services: {}\n", True),
        ("version: '3'\nservices:\n  web:\n    build: .\n", True),
        ("services:\n  - name: x\n", False),
        ("services:\n  web: 3\n", False),
        ("apiVersion: v1\nkind: Service\n", False),
    ],
)
def test_looks_like_compose(text: str, expected: bool) -> None:
    from ruamel.yaml import YAML

    assert looks_like_compose(YAML().load(text)) is expected


def test_malformed_yaml_names_file_and_line() -> None:
    with pytest.raises(KeelhaulError) as err:
        read_compose("services:\n  web:\n    image: [a\n  db: x\n", "bad/compose.yaml")
    assert str(err.value).startswith("bad/compose.yaml:")
    assert "\n" not in str(err.value)


@pytest.mark.corpus
def test_corpus_reads() -> None:
    def one(path: Path) -> None:
        runs = read_compose(corpus_bytes(path).decode("utf-8"), str(path))
        for run in runs:
            assert run.where.line >= 1
            assert run.name

    check_every_file(require_corpus("compose"), one, corpus_id)


def test_checks_run_on_compose_services() -> None:
    from keelhaul.runtime.checking import check_runs

    runs = read_compose(
        "services:\n  web:\n    image: nginx:1.25\n    privileged: true\n"
        "    cap_add: [SYS_ADMIN]\n",
        "compose.yaml",
    )
    codes = {f.code for f in check_runs(runs)}
    assert codes  # the privileged service is reported
    assert all(f.location.path == "compose.yaml" for f in check_runs(runs))
