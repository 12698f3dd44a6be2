"""SIGTERM during `up`, and the real doctor on this (not ready) machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO


def test_sigterm_during_create_deletes_what_was_created(standins, tmp_path):
    standins.scenario("kind", create_seconds="60")
    env = dict(os.environ, ROOTLESSKUBE_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen([sys.executable, "-m", "tests.drivers.passing_doctor", "up", "--name", "rk-dev"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while "rk-dev" not in standins.tool_state("kind")["clusters"]:  # the nodes exist, create still runs
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "deleted the half-created cluster 'rk-dev'" in err
    assert "error: interrupted by SIGTERM" in err
    assert standins.tool_state("kind")["clusters"] == {}
    assert out == ""


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
    assert "the kind node container did not boot" in result.stderr
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
