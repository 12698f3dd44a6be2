"""podman-compose's version for the usernetes driver: asked, read from its own line, refused below 1.0.6.

The outputs are the recorded samples in tests/contracts/podman-compose/ (README.md there: the
upstream podman_compose.py at v1.0.3 24ec5399, v1.0.6 f6dbce36, v1.6.0 0f6537e9 prints them).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rootlesskube import paths
from rootlesskube.host.context import _tool_version
from rootlesskube.host.doctor import run_doctor
from rootlesskube.host.view import HostView
from tests.conftest import STANDINS

SAMPLES = Path(__file__).resolve().parent.parent / "contracts" / "podman-compose"
FIX = ["as the user: rootlesskube tools install podman-compose   (a current release in a venv under the data "
       "directory, pinned with hashes; the usernetes driver uses it before the one on PATH)",
       "or: pipx install podman-compose   (then make sure ~/.local/bin comes first on PATH)"]


def fake_podman_compose(directory: Path, version: str) -> Path:
    """A podman-compose that answers `--version` as the real release VERSION did (anything else: exit 2)."""
    directory.mkdir(parents=True, exist_ok=True)
    stdout, stderr = SAMPLES / f"version-{version}.stdout", SAMPLES / f"version-{version}.stderr"
    script = directory / "podman-compose"
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "if sys.argv[1:] != ['--version']:\n    sys.exit(2)\n"
        f"sys.stdout.write(open({str(stdout)!r}).read())\n"
        + (f"sys.stderr.write(open({str(stderr)!r}).read())\n" if stderr.exists() else ""))
    script.chmod(0o755)
    return script


def usernetes_check(monkeypatch, *path_dirs: Path):
    monkeypatch.setenv("PATH", os.pathsep.join([*map(str, path_dirs), str(STANDINS), os.environ["PATH"]]))
    user = pwd.getpwuid(os.getuid()).pw_name
    return run_doctor(HostView("/"), user, "usernetes").get("tool.podman-compose")


@pytest.mark.parametrize("version", ["1.0.3", "1.0.6", "1.6.0"])
def test_the_version_is_read_from_podman_composes_own_line(tmp_path, version):
    # 1.0.3 prints `using podman version: 4.3.1` before its own line: the first dotted number is podman's
    probe = _tool_version(str(fake_podman_compose(tmp_path, version)), "podman-compose")
    assert (probe.value, probe.error) == (version, None)


def test_output_without_a_version_line_is_an_error_not_a_guess(tmp_path):
    script = tmp_path / "podman-compose"
    script.write_text("#!/bin/sh\necho 'using podman version: 4.3.1'\n")
    script.chmod(0o755)
    probe = _tool_version(str(script), "podman-compose")
    assert probe.value is None
    assert probe.error == f"`{script} --version` printed no version line: using podman version: 4.3.1"


def test_debian_12s_1_0_3_fails_with_a_fix_that_needs_no_root(monkeypatch, tmp_path):
    script = fake_podman_compose(tmp_path / "bin", "1.0.3")
    check = usernetes_check(monkeypatch, script.parent)
    assert check.status == "fail"
    assert check.detail == (
        f"{script}, version 1.0.3: usernetes needs podman-compose >= 1.0.6; older releases cannot parse Usernetes' "
        "docker-compose.yaml ('missing networks: default'), print their own lines on stdout (which corrupts `make "
        "kubeconfig`) and lose the exit status of `exec`")
    assert check.fix.splitlines() == FIX


@pytest.mark.parametrize("version", ["1.0.6", "1.6.0"])
def test_1_0_6_and_later_pass(monkeypatch, tmp_path, version):
    script = fake_podman_compose(tmp_path / "bin", version)
    check = usernetes_check(monkeypatch, script.parent)
    assert (check.status, check.detail) == ("pass", f"{script}, version {version}")


def test_the_copy_rootlesskube_installed_wins_over_path(monkeypatch, tmp_path):
    on_path = fake_podman_compose(tmp_path / "bin", "1.0.3")
    installed = fake_podman_compose(paths.data_dir() / "bin", "1.6.0")  # where `tools install` links it
    check = usernetes_check(monkeypatch, on_path.parent)
    assert (check.status, check.detail) == ("pass", f"{installed}, version 1.6.0")


def test_missing_podman_compose_is_not_fixed_with_the_distributions_package(monkeypatch, tmp_path):
    tools = tmp_path / "standins"  # every stand-in but podman-compose's
    tools.mkdir()
    for standin in STANDINS.iterdir():
        if standin.name != "podman-compose":
            (tools / standin.name).symlink_to(standin)
    monkeypatch.setenv("PATH", str(tools))  # no podman-compose anywhere
    user = pwd.getpwuid(os.getuid()).pw_name
    check = run_doctor(HostView("/"), user, "usernetes").get("tool.podman-compose")
    assert check.status == "fail"
    assert check.fix.splitlines() == FIX  # `apt-get install podman-compose` gives Debian 12 the 1.0.3 that fails


@pytest.mark.podman
def test_the_distributions_podman_compose_as_the_user(podman_user):
    """The real /usr/bin/podman-compose, when installed: the doctor's version is the package's."""
    real = shutil.which("podman-compose", path="/usr/bin")
    if real is None or shutil.which("dpkg-query") is None:
        pytest.skip("no podman-compose package installed (apt-get install -y podman-compose)")
    package = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "podman-compose"], capture_output=True,
                             text=True, check=True).stdout.split("-")[0]  # 1.0.3-3 -> 1.0.3
    import json

    result = podman_user.rootlesskube("doctor", "--json", "--driver", "usernetes")
    check = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "tool.podman-compose")
    assert check["detail"].startswith(f"{real}, version {package}"), check
    old = tuple(map(int, package.split("."))) < (1, 0, 6)
    assert check["status"] == ("fail" if old else "pass"), check
