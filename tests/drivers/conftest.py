"""Fixtures for driver tests: the stand-ins first on PATH, their state, a passing doctor."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import STANDINS
from tests.drivers.passing_doctor import passing

sys.path.insert(0, str(STANDINS))
import cluster_standin  # noqa: E402
import standin_lib  # noqa: E402


class Standins:
    def __init__(self, state: Path):
        self.state = state

    def calls(self, tool=None):
        return [c for c in standin_lib.calls(self.state) if tool is None or c["tool"] == tool]

    def argvs(self, tool):
        return [c["argv"] for c in self.calls(tool)]

    def scenario(self, tool, **switches):
        cluster_standin.set_scenario(self.state, tool, **switches)

    def tool_state(self, tool):
        path = self.state / f"{tool}-state.json"
        return json.loads(path.read_text()) if path.exists() else {"clusters": {}}


@pytest.fixture
def standins(tmp_path, monkeypatch):
    import os

    state = tmp_path / "standin-state"
    state.mkdir()
    # node/ holds the podman stand-in for Usernetes' node container (everything else goes to the real podman)
    monkeypatch.setenv("PATH", os.pathsep.join([str(STANDINS / "node"), str(STANDINS), os.environ["PATH"]]))
    monkeypatch.setenv("RK_STANDIN_STATE", str(state))
    monkeypatch.delenv("RK_STANDIN_HANG", raising=False)
    monkeypatch.delenv("RK_STANDIN_LATENCY", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    from rootlesskube import cluster

    monkeypatch.setattr(cluster, "DOCTOR", passing)
    return Standins(state)
