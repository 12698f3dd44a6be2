"""The stand-in world for PMM tests: stand-ins first on PATH, a kind cluster, fast polling."""

from __future__ import annotations

import os

import pytest

from tests.workloads.pmm_world import PmmWorld


@pytest.fixture
def world(tmp_path, monkeypatch):
    from rootlesskube.workloads import pmm_deploy

    state = tmp_path / "standin"
    state.mkdir()
    w = PmmWorld(state, tmp_path / "rk-home", "rk-pmm")
    for key, value in w.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(pmm_deploy, "POLL_SECONDS", 0.05)
    return w


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "pmm-server.tar"
    path.write_bytes(b"docker-archive stand-in")
    return str(path)


def parse_json(out: str):
    import json

    return json.loads(out)


os.environ.setdefault("NO_COLOR", "1")
