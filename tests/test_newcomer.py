"""The newcomer's path, played on this machine (Debian 12, PEP 668): README's commands as written.

A fresh unprivileged user runs the main-job command of README.md's "On a fresh machine"
(read from README.md here, not copied) in a copy of this checkout, then `rootlesskube
doctor`; root runs README's root-owned install of host_setup (inside a private mount
namespace, so /opt and /usr/local/sbin of this machine are left as they were) and `plan`;
root running the user's own pipx copy of host_setup is refused.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rootlesskube.host.fixes import HOST_SETUP, ROOT_INSTALL, ROOT_LINK
from tests.conftest import REPO
from tests.podman_env import TEST_USER

README = REPO / "README.md"
NEWCOMER = f"{TEST_USER}-nc"  # a user of this checkout's own test-user prefix
PIP_CACHE = Path("/var/cache/rootlesskube-tests") / f"pip-{NEWCOMER}"  # kept between runs: downloads once
COPY_IGNORE = shutil.ignore_patterns(".git", ".user-venv", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache",
                                     "build", "*.egg-info", ".hypothesis")


def readme_section(title_start: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title_start}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def sh_blocks(section: str):
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def main_job_command() -> str:
    blocks = sh_blocks(readme_section("On a fresh machine"))
    assert len(blocks) == 2 and blocks[1] == "bash .ci/run", blocks  # the section's two commands
    assert "\n" not in blocks[0] and blocks[0].endswith("rootlesskube run"), blocks[0]
    return blocks[0]


def root_install_command() -> str:
    found = [b for b in sh_blocks(readme_section("Preparing the host")) if "/opt/rootlesskube" in b]
    assert len(found) == 1, found
    return found[0]


def test_readme_commands_are_the_ones_the_tool_prints():
    """The doctor's next step and host_setup's refusal print README's root install, and its apply."""
    assert root_install_command() == ROOT_INSTALL
    assert main_job_command().startswith("pipx install . && ")
    section = readme_section("Preparing the host")
    assert f"{HOST_SETUP}           # asks y/N" in section
    assert ROOT_LINK.startswith("/usr/local/sbin/")


def _check(check_id, status, fix):
    from rootlesskube.host.model import CheckResult

    return CheckResult(check_id, status, check_id, "found", fix)


def test_next_step_is_roots_apply_with_every_switch_while_root_side_fixes_are_pending(monkeypatch):
    from rootlesskube.host import fixes, next_step

    distro = fixes.Distro("debian", "Debian GNU/Linux 12 (bookworm)", "12", "apt")
    checks = [_check("tool.kind", "fail", "as the user: rootlesskube tools install kind   (a pinned release)"),
              _check("cgroup.v2", "fail", fixes.kernel_arguments(distro, ["cgroup_no_v1=all"])),
              _check("dev.fuse", "fail", fixes.device_mode("/dev/fuse", "fuse")),
              _check("session.linger", "warn", fixes.linger("alice"))]
    monkeypatch.setattr(next_step.os.path, "exists", lambda path: path == ROOT_LINK)  # installed
    assert next_step.next_lines(checks) == [
        f"next: {HOST_SETUP} --kernel-cmdline   (root's part: cgroup.v2, dev.fuse; "
        "`plan` instead of `apply` shows it first)"]
    monkeypatch.setattr(next_step.os.path, "exists", lambda path: False)
    assert next_step.next_lines(checks)[0] == (f"{ROOT_LINK} is not installed yet: install the root part "
                                               f"root-owned first, in the checkout: {ROOT_INSTALL}")
    assert len(next_step.next_lines(checks, "/mnt/image")) == 1  # another host's root: not this one's install


def test_next_step_is_the_first_user_side_fix_otherwise():
    from rootlesskube.host import fixes, next_step

    distro = fixes.Distro("fedora", "Fedora Linux 40", "40", "dnf")
    kind = _check("tool.kind", "fail", "as the user: rootlesskube tools install kind   (a pinned release)\n"
                                       "or install it yourself: https://kind.sigs.k8s.io/")
    podman = _check("podman.installed", "fail", fixes.install(distro, ["podman"]))
    assert next_step.next_lines([kind, podman]) == [
        "next: rootlesskube tools install kind   (fixes tool.kind; then run `rootlesskube doctor` again)"]
    assert next_step.next_lines([podman, kind]) == [
        "next, as root: dnf install -y podman   (fixes podman.installed; then run `rootlesskube doctor` again)"]
    assert next_step.next_lines([_check("tool.kind", "warn", "x"), _check("cgroup.v2", "pass", None)]) == []


def test_run_says_what_it_will_do_and_how_long_before_the_doctor_and_the_pulls():
    from rootlesskube.cli.recipes import announce
    from rootlesskube.recipe import load as recipe
    from rootlesskube.recipe import steps as recipe_steps

    loaded = recipe.load(recipe.DEFAULT_RECIPE)
    text = announce(loaded, recipe_steps.plan(loaded, loaded.clusters()))
    assert text == (
        "rootlesskube run kind-pmm3-restricted: 6 steps: check the host for kind (doctor); bring up the kind "
        "cluster 'rootlesskube'; namespace 'secure-namespace' on 'rootlesskube'; PMM 3 in 'secure-namespace' on "
        "'rootlesskube'; prove 'rootlesskube' rootless; pmm verify in 'secure-namespace' on 'rootlesskube' "
        "(--dry-run says what each does).\n"
        "The doctor takes a few seconds; then pulling starts: the kind node image and PMM 3's server image, "
        "hundreds of MB or more each on a first run. Expect roughly 5 to 15 minutes in all the first time, "
        "mostly downloads; a few minutes once the images are cached.")


def test_run_announces_before_its_first_step(cli, monkeypatch):
    """On a host the doctor passes, the announcement comes before the doctor's step (and so before any pull)."""
    from rootlesskube import cluster
    from tests.drivers.passing_doctor import passing

    def stop_after_the_doctor(driver):
        report = passing(driver)
        report.checks[0] = report.checks[0].__class__("cgroup.v2", "fail", "cgroup v2", "stand-in: stop here")
        return report

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(cluster, "DOCTOR", stop_after_the_doctor)
    code, out, err = cli("run")
    lines = err.splitlines()
    assert lines[0].startswith("rootlesskube run kind-pmm3-restricted: 6 steps: check the host for kind (doctor);")
    assert lines[1].startswith("The doctor takes a few seconds; then pulling starts: the kind node image")
    assert lines[2].startswith("-> check the host for kind (doctor)")
    assert code == 3


# --- the newcomer, for real ------------------------------------------------------------------

def _missing() -> str:
    if os.geteuid() != 0:
        return "needs root (creates a user, mounts in a private namespace)"
    for tool in ("pipx", "sudo", "runuser", "unshare", "useradd", "userdel", "/usr/bin/python3"):
        if not shutil.which(tool):
            return f"{tool} is missing (bash .ci/run installs pipx, python3-venv and sudo)"
    return ""


def as_newcomer(home: Path, command: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """A bash of the user with a plain login environment (no ~/.local/bin on PATH)."""
    env = {"HOME": str(home), "USER": NEWCOMER, "LOGNAME": NEWCOMER, "SHELL": "/bin/bash", "LANG": "C.UTF-8",
           "PATH": "/usr/local/bin:/usr/bin:/bin", "NO_COLOR": "1", "PIP_CACHE_DIR": str(PIP_CACHE)}
    return subprocess.run(["runuser", "-u", NEWCOMER, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()],
                           "bash", "-c", f"cd ~/rootlesskube && {command}"],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def newcomer():
    """A fresh user with a copy of this checkout in ~/rootlesskube, who ran README's main-job command."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    remove_newcomer()
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", NEWCOMER], check=True)
    try:
        home = Path(os.path.expanduser(f"~{NEWCOMER}"))
        shutil.copytree(REPO, home / "rootlesskube", ignore=COPY_IGNORE, symlinks=True)
        PIP_CACHE.mkdir(parents=True, exist_ok=True)
        for path in (home / "rootlesskube", PIP_CACHE):
            subprocess.run(["chown", "-R", f"{NEWCOMER}:", str(path)], check=True)
        yield home, as_newcomer(home, main_job_command())
    finally:
        remove_newcomer()


def remove_newcomer() -> None:
    """Its processes (Podman's pause process outlives `podman info`) by pid, then the user and its home."""
    import psutil

    try:
        uid = pwd.getpwnam(NEWCOMER).pw_uid
    except KeyError:
        return
    for process in psutil.process_iter(["uids"]):
        if process.info["uids"] and process.info["uids"].real == uid:
            process.kill()
    subprocess.run(["userdel", "-r", NEWCOMER], capture_output=True)


@pytest.mark.root
def test_the_main_job_command_installs_and_stops_at_the_doctor(newcomer):
    """This machine is not ready (hybrid cgroups, no kind): `rootlesskube run` stops with the doctor's report."""
    home, result = newcomer
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    assert "installed package rootlesskube " in result.stdout  # pipx's words
    assert os.path.realpath(home / ".local/bin/rootlesskube").startswith(str(home) + "/")
    assert "rootlesskube run kind-pmm3-restricted: 6 steps: check the host for kind (doctor);" in result.stderr
    assert "hint: `rootlesskube doctor` shows every check and its fix" in result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith(
        "recipe kind-pmm3-restricted: FAILED at 'check the host for kind (doctor)' (exit 3")


@pytest.mark.root
def test_then_doctor_names_the_root_install_and_the_apply(newcomer):
    home, _ = newcomer
    result = as_newcomer(home, 'export PATH="$HOME/.local/bin:$PATH" && rootlesskube doctor', timeout=300)
    assert result.returncode == 3, result.stderr[-2000:]
    *_, verdict, install, next_step = result.stdout.strip().splitlines()
    assert verdict.startswith("not ready: ")
    assert install == (f"{ROOT_LINK} is not installed yet: install the root part root-owned first, "
                       f"in the checkout: {ROOT_INSTALL}")
    assert next_step.startswith(f"next: {HOST_SETUP} --kernel-cmdline   (root's part: cgroup.v2")


@pytest.mark.root
def test_root_refuses_the_users_own_copy_of_host_setup(newcomer):
    home, _ = newcomer
    mine = home / ".local/bin/rootlesskube-host-setup"
    result = subprocess.run([str(mine), "plan", "--user", NEWCOMER], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 2, result.stdout + result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: rootlesskube-host-setup refuses to run as root: {home}/"), first
    assert f"is owned by {NEWCOMER} (uid " in first
    assert ROOT_INSTALL in result.stderr
    assert result.stdout == ""


@pytest.mark.root
def test_readmes_root_install_then_plan(newcomer, tmp_path):
    """README's root install, as written, in a private mount namespace; then sudo plan from /usr/local/sbin."""
    home, _ = newcomer
    layers = tmp_path / "layers"
    script = "\n".join([
        "set -e",
        'for dir in /opt /usr/local/sbin; do',
        '  name=$(echo "$dir" | tr / _); mkdir -p "$1/$name/up" "$1/$name/work"; chmod 0755 "$1/$name/up"',
        '  mount -t overlay overlay -o "lowerdir=$dir,upperdir=$1/$name/up,workdir=$1/$name/work" "$dir"',
        "done",
        'cd "$2"',
        root_install_command(),
        f'sudo {ROOT_LINK.rsplit("/", 1)[1]} plan --user "$3"',  # secure_path finds it in /usr/local/sbin
        f'sudo {ROOT_LINK} plan --user "$3" --json',
    ])
    layers.mkdir(mode=0o755)
    before = [os.path.lexists(p) for p in ("/opt/rootlesskube", ROOT_LINK)]
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "bash", "-c", script, "bash",
                             str(layers), str(home / "rootlesskube"), NEWCOMER],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "refuses" not in result.stderr
    assert "cgroup.v2" in result.stdout
    assert f'"user": "{NEWCOMER}"' in result.stdout
    assert [os.path.lexists(p) for p in ("/opt/rootlesskube", ROOT_LINK)] == before  # this machine's: untouched
