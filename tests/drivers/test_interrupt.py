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
