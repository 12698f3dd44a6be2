"""The guard in tests/conftest.py: a real cluster tool (or make, git, ssh) on PATH fails the test."""

from __future__ import annotations

import os
import shutil

import pytest

from rootlesskube import run as runner

REAL_BIN = ("/usr/bin", "/usr/local/bin", "/bin")


def real(name: str) -> str:
    found = shutil.which(name, path=os.pathsep.join(REAL_BIN))
    if found is None:
        pytest.skip(f"no {name} installed here to be refused")
    return found


@pytest.mark.parametrize("name", ["make", "git", "ssh", "scp"])
def test_a_real_tool_on_path_fails_the_test(name, monkeypatch):
    found = real(name)
    monkeypatch.setenv("PATH", os.pathsep.join(REAL_BIN))
    with pytest.raises(pytest.fail.Exception) as failed:
        runner.run([name, "--version"], timeout=10, check=False)
    assert str(failed.value) == f"a test tried to run the real {name} at {found}; put a stand-in first on PATH"


def test_the_real_ssh_fixture_lets_ssh_through_and_nothing_else(monkeypatch, real_ssh):
    found = real("ssh")
    monkeypatch.setenv("PATH", os.pathsep.join(REAL_BIN))
    assert runner.which("ssh") == found
    real("make")
    with pytest.raises(pytest.fail.Exception):
        runner.which("make")


def test_a_standin_first_on_path_passes(standins):
    assert runner.which("make").endswith("tests/standins/make")
