"""``keelhaul fix`` on ``docker run`` lines (issue 18): flags inserted right after ``run``,
continuations, quoting and every other byte kept, in scripts, Makefiles, CI files and README
fences; the image table decides what goes back in."""

from __future__ import annotations

import subprocess

from keelhaul.runtime.docker_run import read_docker_run
from keelhaul.runtime.fixing import fix_docker_run


def test_a_continued_line_keeps_its_layout() -> None:
    text = "#!/bin/sh\ndocker run -d \\\n  -p 8080:8080 \\\n  example/app:1\n"
    fixed = fix_docker_run(text, "run.sh").text
    assert fixed == (
        "#!/bin/sh\ndocker run --cap-drop=ALL --read-only --tmpfs /tmp "
        "--security-opt=no-new-privileges -d \\\n  -p 8080:8080 \\\n  example/app:1\n"
    )
    assert subprocess.run(["sh", "-n"], input=fixed, text=True, check=False).returncode == 0
    assert fix_docker_run(fixed, "run.sh").text == fixed


def test_what_the_image_needs_goes_back_in() -> None:
    fixed = fix_docker_run("docker run -p 80:80 nginx:1.27\n", "run.sh").text
    (run,) = read_docker_run(fixed, "run.sh")
    assert {c.value for c in run.cap_add} == {"CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"}
    assert {m.target for m in run.mounts} == {"/tmp", "/var/cache/nginx", "/var/run"}


def test_a_database_without_a_data_volume_stays_writable() -> None:
    change = fix_docker_run("docker run -d postgres:16\n", "run.sh")
    assert "--read-only" not in change.text
    assert "--cap-drop=ALL --cap-add=CHOWN" in change.text
    assert any("/var/lib/postgresql/data" in why for why in change.skipped)
    with_volume = fix_docker_run(
        "docker run -d -v pg:/var/lib/postgresql/data postgres:16\n", "run.sh"
    ).text
    assert "--read-only --tmpfs /tmp --tmpfs /var/run/postgresql" in with_volume


def test_readme_fences_makefiles_and_ci_files() -> None:
    readme = "# App\n\n```sh\ndocker run example/app:1\n```\n"
    assert "docker run --cap-drop=ALL" in fix_docker_run(readme, "README.md").text
    makefile = "up:\n\tdocker run -d example/app:1\n"
    fixed = fix_docker_run(makefile, "Makefile").text
    assert fixed.startswith("up:\n\tdocker run --cap-drop=ALL ")
    ci = "test:\n  script:\n    - docker run --rm example/app:1 pytest\n"
    assert "docker run --cap-drop=ALL" in fix_docker_run(ci, ".gitlab-ci.yml").text


def test_only_what_was_asked_is_added() -> None:
    text = "docker run example/app:1\n"
    fixed = fix_docker_run(text, "run.sh", lambda code, line: code == "KH416").text
    assert fixed == "docker run --security-opt=no-new-privileges example/app:1\n"
