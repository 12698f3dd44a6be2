"""A usage error runs nothing: the early `podman info` starts only for arguments the CLI accepts.

Podman initialises a new user's store when it starts (~/.local/share/containers, ~/.config/cni),
so `doctor --driver bogus` by a user who never ran Podman must leave their home as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from rootlesskube.host import early
from tests.podman_env import USER_PYTHON


@pytest.mark.parametrize("args, plain", [
    (["doctor"], True),
    (["doctor", "--json"], True),
    (["doctor", "--driver", "usernetes", "--json", "-v"], True),
    (["doctor", "--driver=MINIKUBE"], True),  # plumbum's Set ignores case, as does the doctor
    (["doctor", "--driver", "bogus"], False),
    (["doctor", "--driver=bogus"], False),
    (["doctor", "--driver"], False),
    (["doctor", "--json", "--json"], False),  # plumbum: "Switch --json already given"
    (["doctor", "-v", "--verbose"], False),
    (["doctor", "--driver", "kind", "--driver", "kind"], False),
    (["doctor", "--drvier", "kind"], False),
    (["doctor", "extra"], False),
    (["doctor", "--user", "bob"], False),
    (["doctor", "--host-root", "/x"], False),
    (["doctor", "--help"], False),
    (["status"], False),
    ([], False),
])
def test_only_arguments_the_cli_accepts_make_a_plain_doctor(monkeypatch, args, plain):
    monkeypatch.delenv(early.DRIVER_ENV, raising=False)
    assert early.plain_doctor(args) is plain


def test_an_invalid_driver_in_the_environment_is_not_plain(monkeypatch):
    monkeypatch.setenv(early.DRIVER_ENV, "k3d")
    assert early.plain_doctor(["doctor"]) is False
    assert early.plain_doctor(["doctor", "--driver", "kind"]) is True  # the switch wins over the environment
    monkeypatch.setenv(early.DRIVER_ENV, "usernetes")
    assert early.plain_doctor(["doctor", "--json"]) is True


def _fresh_home(user) -> Path:
    home = Path(tempfile.mkdtemp(prefix=f"rk-fresh-{user.name}-", dir="/tmp"))
    os.chown(home, user.uid, user.gid)
    return home


def _everything_under(home: Path) -> list:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


@pytest.mark.podman
def test_doctor_with_a_bad_driver_creates_nothing_in_a_new_users_home(podman_user):
    homes = [_fresh_home(podman_user) for _ in range(2)]
    runtime = Path(tempfile.mkdtemp(prefix="rk-fresh-run-", dir="/tmp"))
    os.chown(runtime, podman_user.uid, podman_user.gid)
    try:
        def doctor(home: Path, *args: str):
            return podman_user.run([USER_PYTHON, "-m", "rootlesskube", "doctor", *args], check=False,
                                   env={"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)})

        bad = doctor(homes[0], "--driver", "bogus")
        assert (bad.returncode, bad.stdout) == (2, "")
        assert "--driver must be one of {kind, minikube, usernetes}, not 'bogus'" in bad.stderr
        time.sleep(3)  # an early podman info would outlive the CLI: give it the time to write
        assert _everything_under(homes[0]) == []
        # the control: the same run with valid arguments does start Podman, which fills a new home
        good = doctor(homes[1], "--driver", "kind", "--json")
        assert good.returncode in (0, 3), good.stderr
        assert ".local/share/containers" in _everything_under(homes[1])
    finally:
        for path in (*homes, runtime):
            shutil.rmtree(path, ignore_errors=True)
