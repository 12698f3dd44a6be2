"""`up` on real rootless Podman when no registry is reachable: fails at the pull step, does not hang."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, STANDINS
from tests.podman_env import USER_PYTHON

pytestmark = pytest.mark.podman


def test_unreachable_registry_fails_at_the_pull_step(podman_user):
    tmp_path = Path(tempfile.mkdtemp(prefix="rk-pull-"))  # pytest's tmp_path is not reachable by the test user
    home = tmp_path / "home"
    state = tmp_path / "standin"
    for folder in (home, state):
        folder.mkdir()
        os.chown(folder, podman_user.uid, podman_user.gid)
    os.chmod(tmp_path, 0o755)
    env = {"PATH": f"{STANDINS}{os.pathsep}{os.environ['PATH']}", "RK_STANDIN_STATE": str(state),
           "ROOTLESSKUBE_HOME": str(home), "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    result = podman_user.run([USER_PYTHON, "-m", "tests.drivers.pull_unreachable", "rk-pull",
                              "docker.io/library/rk-unreachable:1.0", "90"],
                             check=False, timeout=240, env=env)
    elapsed = time.monotonic() - started
    shutil.rmtree(tmp_path)
    assert elapsed < 200
    assert result.returncode == 1, result.stderr
    assert "   FAILED: pull the images the recipe needs (" in result.stderr
    assert "error: pulling the images the cluster needs failed:\ndocker.io/library/rk-unreachable:1.0: " in result.stderr
    assert "hint: can this user reach the registry?" in result.stderr
    assert "deleted the half-created cluster 'rk-pull'" in result.stderr
