"""Shared test fixtures.

- A guard that makes it impossible for a test to start a real cluster tool:
  kind, minikube, kubectl, make (Usernetes) and git (its clone) must resolve
  to a stand-in (under tests/ or a temporary directory), never to a binary
  installed on the machine. ssh and scp too, unless the test asks for the
  `real_ssh` fixture (the multi-node tests talk to a real sshd on loopback).
- `cli`: runs the rootlesskube CLI in-process and returns (exit code, stdout, stderr).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from rootlesskube import run as runner

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
STANDINS = TESTS / "standins"
SHARED = Path(os.environ.get("ROOTLESSKUBE_SHARED", REPO.parent / "shared"))
CONTRACTS = SHARED / "contracts"
CONFORMANCE = SHARED / "conformance"

CLUSTER_TOOLS = {"kind", "minikube", "kubectl", "make", "git"}
SSH_TOOLS = {"ssh", "scp"}
_real_which = runner.which


def _allowed(path: str) -> bool:
    real = os.path.realpath(path)
    roots = (str(TESTS), os.path.realpath(tempfile.gettempdir()))
    return any(real.startswith(root + os.sep) for root in roots)


@pytest.fixture(autouse=True)
def no_real_cluster_tools(monkeypatch, request):
    guarded = CLUSTER_TOOLS if "real_ssh" in request.fixturenames else CLUSTER_TOOLS | SSH_TOOLS

    def guarded_which(name):
        found = _real_which(name)
        if found and os.path.basename(name) in guarded and not _allowed(found):
            pytest.fail(f"a test tried to run the real {name} at {found}; put a stand-in first on PATH")
        return found

    monkeypatch.setattr(runner, "which", guarded_which)


@pytest.fixture
def real_ssh():
    """Lets the test run the real ssh and scp (everything else stays guarded)."""


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Each test gets its own rootlesskube state and data directories."""
    monkeypatch.setenv("ROOTLESSKUBE_HOME", str(tmp_path / "rk-home"))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.fixture
def cli(capsys):
    from rootlesskube.__main__ import run

    def invoke(*args):
        code = run([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


@pytest.fixture
def terminal(monkeypatch):
    """ui's stderr console as a 100-column colour terminal writing into a buffer (what a person sees)."""
    import io

    from rich.console import Console

    from rootlesskube import ui

    buffer = io.StringIO()
    fake = Console(file=buffer, force_terminal=True, width=100, color_system="standard", highlight=False)
    monkeypatch.setattr(ui, "plain", lambda: False)
    monkeypatch.setattr(ui, "console", lambda stderr=True: fake)
    return buffer


@pytest.fixture
def checkout(tmp_path):
    """A Usernetes checkout folder for the `make` stand-in, which plays the real Makefile."""
    folder = tmp_path / "usernetes"
    folder.mkdir()
    (folder / "Makefile").write_text("# stand-in checkout: the `make` stand-in plays the real Makefile\n")
    return folder


from tests.podman_env import podman_user  # noqa: E402,F401  (fixture for tests marked `podman`)
