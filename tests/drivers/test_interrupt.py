"""SIGTERM and Ctrl-C during `up`, two `up` runs at once, and the real doctor on this (not ready) machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO


def start_slow_up(standins, tmp_path, name="rk-dev"):
    """`up` in its own process, returned once its cluster's nodes exist and create still runs."""
    standins.scenario("kind", create_seconds="60")
    env = dict(os.environ, ROOTLESSKUBE_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen([sys.executable, "-m", "tests.drivers.passing_doctor", "up", "--name", name],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while name not in standins.tool_state("kind")["clusters"]:
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    return proc, env


@pytest.mark.parametrize(("sig", "said"), [(signal.SIGTERM, "error: interrupted by SIGTERM"),
                                           (signal.SIGINT, "interrupted")])
def test_an_interrupt_during_create_deletes_what_was_created(standins, tmp_path, sig, said):
    proc, _ = start_slow_up(standins, tmp_path)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "deleted the half-created cluster 'rk-dev'" in err
    assert said in err.splitlines()[-1]
    assert standins.tool_state("kind")["clusters"] == {}
    assert out == ""


def test_a_second_up_of_the_same_cluster_in_another_process_fails_at_once(standins, tmp_path):
    first, env = start_slow_up(standins, tmp_path)
    try:
        second = subprocess.run([sys.executable, "-m", "tests.drivers.passing_doctor", "up", "--name", "rk-dev"],
                                cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode == 1, second.stderr
        assert "another rootlesskube run is already working on cluster 'rk-dev'" in second.stderr
        assert first.poll() is None and "rk-dev" in standins.tool_state("kind")["clusters"]  # left alone
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert standins.tool_state("kind")["clusters"] == {}


@pytest.mark.podman  # the real doctor runs the real `podman info` and reads this host
def test_the_real_doctor_stops_up_on_this_host(cli, standins, monkeypatch):
    from rootlesskube import cluster

    monkeypatch.setattr(cluster, "DOCTOR", cluster.default_doctor)
    report = cluster.default_doctor("kind")
    if report.ready:
        pytest.skip("this host is ready for rootless kind; the not-ready path cannot be shown here")
    code, out, err = cli("up", "--name", "rk-dev")
    assert code == 3
    assert "the host is not ready for kind:" in err
    # the doctor may ask tools for their version; nothing else ran
    assert {c["argv"][1] for c in standins.calls()} <= {"version"}
    assert standins.tool_state("kind")["clusters"] == {}


def test_a_failed_create_stops_a_slow_pull_and_exits_promptly(standins, tmp_path):
    # a pull that would take 10 minutes: this podman only sleeps (no registry is reachable here)
    bin_dir, pids = tmp_path / "bin", tmp_path / "pull-pids"
    bin_dir.mkdir()
    (bin_dir / "podman").write_text(f'#!/bin/sh\necho $$ >> {pids}\nsleep 600\n')
    (bin_dir / "podman").chmod(0o755)
    standins.scenario("kind", create="node-boot-failure")
    env = dict(os.environ, ROOTLESSKUBE_HOME=str(tmp_path / "home"), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "tests.drivers.pull_unreachable", "rk-dev",
                             "docker.io/library/busybox:1.36", "1800"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert time.monotonic() - started < 30, result.stderr
    assert result.returncode == 1, result.stderr
    assert "kind could not read the node container's boot log" in result.stderr
    assert "deleted the half-created cluster 'rk-dev'" in result.stderr
    pull = int(pids.read_text().split()[0])
    deadline = time.monotonic() + 1  # up waits for the pull's group to be killed before it exits
    while group_alive(pull) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_alive(pull), "the pull's process group is still running"


def group_alive(pgid: int) -> bool:
    import psutil

    return any(p.status() != psutil.STATUS_ZOMBIE for p in psutil.process_iter() if _pgid(p) == pgid)


def _pgid(process) -> int:
    try:
        return os.getpgid(process.pid)
    except ProcessLookupError:
        return -1
