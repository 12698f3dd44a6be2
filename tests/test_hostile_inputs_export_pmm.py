"""Hostile input to `export`, `pmm`, recipe manifests and the subuid check (issue 17, the leftovers).

The contract is tests/test_hostile_inputs.py's: exit 2, one `error:` line naming the problem, no
traceback, nothing written, within a time bound; a FIFO goes to the real CLI in a subprocess with a
timeout, since a blocking open would hang the test itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rootlesskube.cli.pmm import Duration
from rootlesskube.errors import UsageError
from rootlesskube.export import vm
from rootlesskube.host.doctor import run_doctor
from tests import test_hostile_inputs as hostile
from tests.host.hosttree import USER, HostTree, healthy
from tests.test_hostile_inputs import POD, REPO, TIME_BOUND, _tree

rejected = hostile.rejected  # the fixture: invoke(*args) asserts the contract for rejected input

# a real key's shape: type, base64 of (length, type, key bytes)
KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBXzQ0rT6yL3f1P4h5Q5p8yQ6cW0q7wHkJ0dVbK4m0Zx ana@laptop\n")


def _cli(args, cwd: Path, path_dirs=(), timeout: float = 20):
    """The real CLI in a subprocess: PATH holds only `path_dirs` (nothing real can start), and 1 GiB of
    address space (reading /dev/zero ends in a MemoryError, not in the machine's OOM killer)."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    empty = cwd / "empty-path"
    empty.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "ROOTLESSKUBE_HOME": str(cwd / "rk-home"), "NO_COLOR": "1",
           "PATH": os.pathsep.join([*map(str, path_dirs), str(empty)])}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "rootlesskube", *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout, preexec_fn=limit)
    return result, time.monotonic() - started


def _refused(result, elapsed):
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert lines and lines[0].startswith("error: ") and len(lines) <= 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stdout == ""
    assert elapsed < 2 * TIME_BOUND  # a new interpreter, on 2 shared cores
    return lines[0]


# --- export ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["/dev/vdb\n", "/dev/vdb\n/dev/vdc", "/dev/\n"])
def test_a_data_disk_with_a_trailing_newline_is_not_a_device_path(value):
    with pytest.raises(UsageError, match="is not a device path"):
        vm.data_device(value)


def test_export_ssh_key_fifo_is_refused_at_once_and_nothing_is_written(tmp_path):
    os.mkfifo(tmp_path / "key.pub")
    result, elapsed = _cli(["export", "butane", "--ssh-key", "key.pub", "-o", "out.bu"], tmp_path)
    assert _refused(result, elapsed) == "error: key.pub: the SSH public key is a FIFO, not a regular file"
    assert not (tmp_path / "out.bu").exists()


def test_export_ssh_key_over_the_limit_is_refused_with_the_limit(rejected, tmp_path):
    (tmp_path / "big.pub").write_text(KEY * 1000)  # 97 KB
    assert rejected("export", "cloud-init", "--ssh-key", "big.pub", "-o", "out.yaml") == (
        "error: big.pub: larger than the limit of 65536 bytes (65536 bytes)")


@pytest.mark.parametrize("args", [["--ssh-key", ""], ["--ssh-key", "", "-o", "out.bu"]])
def test_export_ssh_key_empty_is_refused(rejected, args):
    assert rejected("export", "butane", *args) == "error: --ssh-key is empty"


def test_export_ssh_key_device_is_refused_not_read(tmp_path):
    result, elapsed = _cli(["export", "butane", "--ssh-key", "/dev/zero", "-o", "out.bu"], tmp_path)
    assert _refused(result, elapsed) == "error: /dev/zero: the SSH public key is a device, not a regular file"
    assert not (tmp_path / "out.bu").exists()


@pytest.mark.parametrize("output, message", [
    ("missing/out.bu", "error: the folder of the output file (-o) 'missing/out.bu' does not exist"),
    ("sub", "error: the output file (-o) 'sub' is a directory, not a regular file"),
    ("/dev/full", "error: the output file (-o) '/dev/full' is a device, not a regular file"),
])
@pytest.mark.parametrize("command", ["butane", "cloud-init"])
def test_export_vm_output_is_checked_before_any_work(rejected, tmp_path, command, output, message):
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "key.pub")  # read after the output check: the FIFO is never opened
    # under an alarm: before the fix the FIFO was opened first, and blocked
    assert _alarmed(lambda: rejected("export", command, "--ssh-key", "key.pub", "-o", output)).startswith(message)


@pytest.fixture
def podman_recorder(tmp_path):
    """A `podman` that records that it ran (this is about whether it starts, not what it prints)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "podman"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'podman-ran'}\nexit 1\n")
    script.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("extra, message", [
    (["--data-dir", "relative"], "error: 'relative' cannot be PMM's data directory"),
    (["--data-dir", "%h/ok", "-o", "p.yaml/sub"], "error: the folder of the output folder (-o) "),
])
def test_export_systemd_unit_checks_its_inputs_before_podman_runs(tmp_path, podman_recorder, extra, message):
    (tmp_path / "p.yaml").write_text(POD)
    (tmp_path / "empty-path").mkdir()
    before = _tree(tmp_path)
    result, elapsed = _cli(["export", "systemd-unit", "--pmm", *extra], tmp_path, [podman_recorder])
    assert _refused(result, elapsed).startswith(message)
    assert not (tmp_path / "podman-ran").exists()
    assert _tree(tmp_path) == before


def test_export_systemd_unit_port_hint_names_the_root_owned_host_setup(cli):
    code, out, err = cli("export", "systemd-unit", "--pmm", "--classic", "--port", "80")
    assert code == 0
    assert ("(sudo /usr/local/sbin/rootlesskube-host-setup apply --unprivileged-port-start 80)"
            in err.replace("\n", " ")), err


# --- pmm ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["9" * 400 + "h", "999999999h", "0", "0s", "25h", "90s\n", " 90s", "90 s", "٣s",
                                  "1e3", "-5m", ""])
def test_pmm_wait_is_a_bounded_duration(text):
    with pytest.raises(ValueError) as info:
        Duration()(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text, seconds", [("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("24h", 86400.0), ("1s", 1.0)])
def test_pmm_wait_accepts_durations_up_to_a_day(text, seconds):
    assert Duration()(text) == seconds


def test_pmm_wait_overflow_is_one_usage_line(rejected):
    assert rejected("pmm", "deploy", "--wait", "9" * 400 + "h").startswith("error: --wait must be a duration")


@pytest.mark.parametrize("args, message", [
    (["pmm", "deploy", "--cluster", "rk-none", "--image-archive", "missing.tar"],
     "error: missing.tar: no such image archive"),
    (["pmm", "deploy", "--image-archive", "sub"], "error: sub: the image archive is a directory, not a regular file"),
    (["pmm", "verify", "--kubeconfig", "missing.yaml"], "error: missing.yaml: no such kubeconfig"),
    (["pmm", "password", "--kubeconfig", "sub"], "error: sub: the kubeconfig is a directory, not a regular file"),
    (["pmm", "deploy", "--cluster", "Bad_Name", "--image-archive", "a.tar"],
     "error: the cluster name 'Bad_Name' is not a valid"),
    (["pmm", "remove", "-n", "Bad"], "error: the namespace 'Bad' is not a valid"),
])
def test_pmm_switches_are_checked_before_the_cluster_is_asked(rejected, tmp_path, args, message):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.tar").write_bytes(b"")
    assert rejected(*args).startswith(message)


@pytest.mark.parametrize("args", [
    ["pmm", "deploy", "--cluster", "rk", "--image-archive", "fifo"],
    ["pmm", "verify", "--kubeconfig", "fifo"],
    ["pmm", "password", "--kubeconfig", "fifo"],
])
def test_pmm_fifo_inputs_never_block(tmp_path, args):
    os.mkfifo(tmp_path / "fifo")
    result, elapsed = _cli(args, tmp_path)
    assert "is a FIFO, not a regular file" in _refused(result, elapsed)


# --- recipe manifests, recipe hints ---------------------------------------------------------------
def _alarmed(call):
    """call() under an alarm: a blocking open raises TimeoutError instead of hanging the suite."""
    def too_slow(signum, frame):
        raise TimeoutError("still blocked")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(int(2 * TIME_BOUND))
    try:
        return call()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_recipe_manifest_that_is_a_fifo_is_refused_not_waited_on(tmp_path):
    from rootlesskube.recipe.load import Workload
    from rootlesskube.recipe.steps import _apply_manifests

    fifo = tmp_path / "m.yaml"
    os.mkfifo(fifo)
    workload = Workload(type="manifests", namespace="team", files=(str(fifo),))

    class NoKubectl:
        def apply(self, *args, **kwargs):
            raise AssertionError("nothing is applied")

    with pytest.raises(UsageError) as info:
        _alarmed(lambda: _apply_manifests(NoKubectl(), workload))
    assert str(info.value) == f"{fifo}: the manifest is a FIFO, not a regular file"


@pytest.mark.parametrize("roster, hint", [
    ("missing.json", "`sudo /usr/local/sbin/rootlesskube-host-setup lab --users a,b,c --roster FILE` writes it"),
    ("empty.json", "`sudo /usr/local/sbin/rootlesskube-host-setup lab --users a,b,c` adds them"),
])
def test_lab_hints_name_the_root_owned_host_setup(tmp_path, monkeypatch, roster, hint):
    from rootlesskube.drivers.base import ClusterSpec
    from rootlesskube.recipe.load import Lab, lab_clusters

    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.json").write_text("[]")
    with pytest.raises(UsageError) as info:
        lab_clusters(ClusterSpec(name="rk", driver="kind"), Lab(roster, ()))
    assert info.value.hint.startswith(hint), info.value.hint


# --- the subuid check -----------------------------------------------------------------------------
def test_a_garbage_subuid_file_gives_a_short_detail(tmp_path):
    tree = healthy(HostTree(tmp_path / "host"))
    garbage = "".join(f"garbage line {n}\n" for n in range(45_000))  # 850 KB (the host view reads 1 MiB at most)
    tree.write("/etc/subuid", f"{USER}:524288:65536\n" + garbage + "x" * 5000 + "\n")
    started = time.monotonic()
    check = run_doctor(tree.view(), USER, "kind").get("subuid")
    assert time.monotonic() - started < TIME_BOUND
    assert check.status == "warn"
    assert check.detail == (
        f"/etc/subuid: {USER} has 524288-589823 (65536 ids, line 1); "
        "/etc/subuid line 2: 'garbage line 0' is not OWNER:START:COUNT; "
        "/etc/subuid line 3: 'garbage line 1' is not OWNER:START:COUNT; "
        "/etc/subuid line 4: 'garbage line 2' is not OWNER:START:COUNT; and 44998 more bad lines")


def test_one_huge_garbage_line_is_cut_in_the_detail(tmp_path):
    tree = healthy(HostTree(tmp_path / "host"))
    tree.write("/etc/subuid", f"{USER}:524288:65536\n" + "y" * 100_000 + "\n")
    check = run_doctor(tree.view(), USER, "kind").get("subuid")
    assert check.status == "warn" and len(check.detail) < 400, len(check.detail)
    assert check.detail.endswith("yyy...")
