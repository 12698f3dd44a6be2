from __future__ import annotations

import os
import subprocess
import sys

import pytest

from host_setup.__main__ import run


@pytest.fixture
def host_setup(capsys):
    def invoke(*args):
        code = run([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


@pytest.mark.parametrize("sub", ["plan", "apply", "lab"])
def test_refuses_to_run_without_root(host_setup, monkeypatch, sub):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code, out, err = host_setup(sub, "--users", "a") if sub == "lab" else host_setup(sub, "--user", "a")
    assert code == 2 and out == ""
    assert f"rootlesskube-host-setup {sub} changes system files and must run as root" in err
    assert f"run it with sudo: sudo /usr/local/sbin/rootlesskube-host-setup {sub} ...   (installed root-owned" in err


def test_unknown_user_is_exit_2(host_setup, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code, out, err = host_setup("plan", "--user", "no-such-user-xyz")
    assert code == 2 and out == "" and "there is no user 'no-such-user-xyz' on this host" in err


def test_invalid_user_name_is_exit_2(host_setup, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code, out, err = host_setup("plan", "--user", "-rf")
    assert code == 2 and "'-rf' is not a valid user name" in err


def test_no_user_and_no_sudo_user(host_setup, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.delenv("SUDO_USER", raising=False)
    code, out, err = host_setup("plan")
    assert code == 2 and "SUDO_USER is not set" in err


def test_usage_errors_go_to_stderr(host_setup):
    code, out, err = host_setup("apply", "--no-such")
    assert code == 2 and out == "" and "no-such" in err


def test_lab_needs_users(host_setup, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code, out, err = host_setup("lab", "--yes")
    assert code == 2 and "lab needs the users" in err


def test_lab_users_and_count_are_mutually_exclusive(host_setup, monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code, out, err = host_setup("lab", "--users", "a,b", "--count", "3", "--roster", tmp_path / "r.json", "--yes")
    assert (code, out) == (2, "")
    assert "lab takes either --users or --count, not both" in err
    assert not (tmp_path / "r.json").exists()


def test_lab_roster_suffix_is_checked(host_setup, monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code, out, err = host_setup("lab", "--users", "a", "--roster", tmp_path / "r.txt", "--yes")
    assert code == 2 and "must end in .json or .csv" in err


def test_console_script_help_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "host_setup", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "plan" in out.stdout and "apply" in out.stdout and "lab" in out.stdout


def test_lab_without_yes_on_a_non_terminal_says_to_pass_yes(host_setup, monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code, out, err = host_setup("lab", "--users", "a", "--roster", tmp_path / "r.json")
    assert code == 2 and "stdin is not a terminal" in err and "pass --yes" in err
