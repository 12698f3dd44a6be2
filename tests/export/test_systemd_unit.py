from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from rootlesskube.errors import UsageError
from rootlesskube.export import systemd_unit, vm
from tests.podman_env import BUSYBOX_IMAGE


def exec_value(unit: str, key: str = "ExecStart") -> str:
    (line,) = re.findall(rf"^{key}=(.*)$", unit, re.MULTILINE)
    return line


# Quadlet's [Container] keys and the podman run options they stand for, as podman-systemd.unit(5)
# documents them: written out here, not read from QUADLET_KEYS, so a wrong key there fails the test.
QUADLET_FLAGS = {
    "ContainerName": "--name", "PublishPort": "--publish", "Volume": "--volume", "EnvironmentFile": "--env-file",
    "UserNS": "--userns", "HealthCmd": "--health-cmd", "HealthInterval": "--health-interval",
    "HealthTimeout": "--health-timeout", "HealthRetries": "--health-retries",
    "HealthStartPeriod": "--health-start-period", "HealthOnFailure": "--health-on-failure",
}


def quadlet_argv(text: str) -> list:
    """The podman run options a Quadlet file stands for."""
    section = text.split("[Container]\n", 1)[1].split("\n\n", 1)[0]
    flags = QUADLET_FLAGS
    argv, image = ["run", "--rm", "--replace"], None
    for line in section.splitlines():
        key, value = line.split("=", 1)
        if key == "Image":
            image = value
        else:
            argv += [flags[key], value]
    return argv + [image]


def test_exec_lines_round_trip_through_systemd_quoting():
    argv = ["/bin/sh", "-c", 'echo "$1" 100% \\ done; x', "sh", "%h/a b", "%N"]
    line = systemd_unit.exec_line(argv)
    assert line == '/bin/sh -c "echo \\"$$1\\" 100%% \\\\ done; x" sh "%h/a b" %N'
    assert systemd_unit.split_exec(line, {"h": "/home/u", "N": "unit"}) == [
        "/bin/sh", "-c", 'echo "$1" 100% \\ done; x', "sh", "/home/u/a b", "unit"]


def test_the_classic_unit_runs_podman_with_rm_replace_volume_env_file_restart_and_health_check():
    unit = systemd_unit.classic_unit(systemd_unit.pmm_spec())
    argv = systemd_unit.split_exec(exec_value(unit), {"h": "/home/u"})
    assert argv == [
        "/usr/bin/podman", "run", "--rm", "--replace", "--name", "pmm-server", "--publish", "443:8443",
        "--volume", "/home/u/.local/share/pmm-server:/srv:Z", "--env-file", "/home/u/.config/pmm-server/pmm-server.env",
        "--userns", "keep-id:uid=1000,gid=1000", "--health-cmd", "curl -fsS http://127.0.0.1:8080/v1/server/readyz",
        "--health-interval", "30s", "--health-timeout", "10s", "--health-retries", "5", "--health-start-period", "300s",
        "--health-on-failure", "kill", "docker.io/percona/pmm-server:3.8.1"]
    assert "\nRestart=always\nRestartSec=20\n" in unit
    assert "Requires=pmm-server-password.service\n" in unit and "WantedBy=default.target\n" in unit
    assert exec_value(unit, "ExecStop") == "/usr/bin/podman stop --ignore --time 10 pmm-server"


def test_the_quadlet_file_stands_for_the_same_podman_command_line():
    spec = systemd_unit.pmm_spec(image="localhost/pmm:3", data_dir="/data/pmm", host_port=8443)
    classic = systemd_unit.split_exec(exec_value(systemd_unit.classic_unit(spec)))
    assert quadlet_argv(systemd_unit.quadlet(spec)) == classic[1:]
    assert "\nRestart=always\n" in systemd_unit.quadlet(spec)


@pytest.mark.parametrize("version,quadlet", [("5.2.1", True), ("4.5.0", True), ("4.4.4", False), ("4.3.1", False),
                                             (None, False)])
def test_quadlet_is_chosen_where_podman_has_its_health_keys(version, quadlet):
    assert systemd_unit.prefer_quadlet(version) is quadlet


def test_a_bad_version_or_port_is_a_usage_error():
    with pytest.raises(UsageError, match="cannot read the Podman version 'dev'"):
        systemd_unit.prefer_quadlet("dev")
    with pytest.raises(UsageError, match="port 70000 is not a TCP port"):
        systemd_unit.pmm_spec(host_port=70000)


def test_no_password_is_in_any_unit():
    spec = systemd_unit.pmm_spec()
    for text in (systemd_unit.classic_unit(spec), systemd_unit.quadlet(spec), systemd_unit.password_unit()):
        assert not re.search(r"PASSWORD=[A-Za-z0-9]", text)


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(not SYSTEMD_ANALYZE and not os.environ.get("CI"),
                    reason="systemd-analyze is not installed (Debian: apt-get install systemd); CI installs it")
def test_the_units_pass_systemd_analyze_verify(tmp_path):
    assert SYSTEMD_ANALYZE, "systemd-analyze is missing in CI: apt-get install systemd"
    spec = systemd_unit.pmm_spec()
    units = {"pmm-server.service": systemd_unit.classic_unit(spec),
             "pmm-server-password.service": systemd_unit.password_unit(),
             # the programs only the VM has become /bin/true (verify checks that ExecStart's program exists)
             vm.RECIPE_UNIT: vm.recipe_unit("kind-pmm3-restricted").replace(vm.ROOTLESSKUBE_BIN, "/bin/true"),
             vm.PACKAGES_UNIT: vm.packages_unit(vm.PACKAGES).replace("/usr/bin/rpm-ostree", "/bin/true")}
    for name, text in units.items():
        (tmp_path / name).write_text(text)
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", *[str(tmp_path / n) for n in units]],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.podman
def test_the_units_command_lines_run_for_real_as_the_user(podman_user):
    """The password unit's command, then the container's, with busybox for PMM and a short command."""
    home = podman_user.home
    name = podman_user.unique_name("rk-export")
    spec = systemd_unit.pmm_spec(data_dir=f"%h/.local/share/{name}", host_port=18443)
    specifiers = {"h": home, "N": name}
    env_file = Path(home, ".config/pmm-server/pmm-server.env")
    data_dir = Path(home, ".local/share", name)
    env_file.unlink(missing_ok=True)
    try:
        password_argv = systemd_unit.split_exec(exec_value(systemd_unit.password_unit()), specifiers)
        podman_user.run(password_argv)
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert env_file.stat().st_uid == podman_user.uid
        assert re.fullmatch(r"GF_SECURITY_ADMIN_PASSWORD=[A-Za-z0-9]{32}\n", env_file.read_text())

        unit = systemd_unit.classic_unit(spec)
        podman_user.run(systemd_unit.split_exec(exec_value(unit, "ExecStartPre"), specifiers))
        argv = systemd_unit.split_exec(exec_value(unit), specifiers)
        assert argv[0] == "/usr/bin/podman" and argv[-1] == spec.image
        argv[argv.index("--name") + 1] = name
        script = 'id -u; echo "${#GF_SECURITY_ADMIN_PASSWORD}"; echo x >/srv/written && ls -n /srv/written'
        result = podman_user.podman(*argv[1:-1], BUSYBOX_IMAGE, "sh", "-c", script, check=False)
        assert result.returncode == 0, result.stderr
        uid, length, listing = result.stdout.splitlines()
        # uid 1000 (pmm) inside, the 32-character password from the env file, /srv writable by pmm
        assert (uid, length, listing.split()[2], listing.split()[-1]) == ("1000", "32", "1000", "/srv/written")
        assert (data_dir / "written").stat().st_uid == podman_user.uid  # keep-id: the user's own file on the host
        listed = podman_user.podman("ps", "-a", "--filter", f"name=^{name}$", "--format", "{{.Names}}").stdout
        assert listed == ""  # --rm removed it
    finally:
        podman_user.podman("rm", "--force", "--ignore", name, check=False)
        env_file.unlink(missing_ok=True)
        shutil.rmtree(data_dir, ignore_errors=True)
