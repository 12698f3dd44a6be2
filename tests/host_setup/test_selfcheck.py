"""host_setup refuses to act as root from files another user could change (sudo's rule, plus root's sticky dirs)."""

from __future__ import annotations

import os
import pwd

import pytest

from host_setup import selfcheck
from rootlesskube.host.fixes import ROOT_INSTALL

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown to another user)")

NOBODY = pwd.getpwnam("nobody").pw_uid


@pytest.fixture
def tree(tmp_path):
    """A root-owned 0755 tree: root/pkg/code.py; tmp_path itself is under root's 0700 pytest dir."""
    root = tmp_path / "root"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "code.py").write_text("x = 1\n")
    for path in (tmp_path, root, root / "pkg"):
        path.chmod(0o755)
    (root / "pkg" / "code.py").chmod(0o644)
    return root


def test_a_root_owned_tree_is_safe(tree):
    assert selfcheck.first_unsafe([str(tree / "pkg" / "code.py")]) is None


def test_a_file_owned_by_another_user(tree):
    os.chown(tree / "pkg" / "code.py", NOBODY, -1)
    assert selfcheck.first_unsafe([str(tree / "pkg" / "code.py")]) == \
        f"{tree}/pkg/code.py is owned by nobody (uid {NOBODY})"


def test_a_directory_above_owned_by_another_user(tree):
    os.chown(tree, NOBODY, -1)  # nobody could rename pkg and put their own in its place
    assert selfcheck.first_unsafe([str(tree / "pkg" / "code.py")]) == f"{tree} is owned by nobody (uid {NOBODY})"


def test_writable_by_everyone(tree):
    (tree / "pkg").chmod(0o777)
    assert selfcheck.first_unsafe([str(tree / "pkg" / "code.py")]) == f"{tree}/pkg is writable by everyone"


def test_writable_by_a_group_other_than_root(tree):
    os.chown(tree / "pkg" / "code.py", 0, 65534)
    (tree / "pkg" / "code.py").chmod(0o664)
    group = __import__("grp").getgrgid(65534).gr_name
    assert selfcheck.first_unsafe([str(tree / "pkg" / "code.py")]) == \
        f"{tree}/pkg/code.py is writable by the group {group} (gid 65534)"


def test_writable_by_the_root_group_is_safe(tree):
    (tree / "pkg" / "code.py").chmod(0o664)  # group root, as sudo allows for sudoers
    assert selfcheck.first_unsafe([str(tree / "pkg" / "code.py")]) is None


def test_roots_sticky_directory_is_safe_but_not_anyone_elses(tree):
    (tree).chmod(0o1777)  # like /tmp
    assert selfcheck.first_unsafe([str(tree / "pkg" / "code.py")]) is None
    os.chown(tree, NOBODY, -1)
    assert selfcheck.first_unsafe([str(tree / "pkg" / "code.py")]) == f"{tree} is owned by nobody (uid {NOBODY})"


def test_a_symlink_into_a_users_tree_is_followed(tree, tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "python3").write_text("")
    os.chown(theirs, NOBODY, -1)
    (tree / "python3").symlink_to(theirs / "python3")
    assert selfcheck.first_unsafe([str(tree / "python3")]) == f"{theirs} is owned by nobody (uid {NOBODY})"


def test_this_checkout_and_interpreter_pass():
    """The tests (and CI) run host_setup as root from this checkout: its own layout must pass."""
    assert selfcheck.first_unsafe(selfcheck.code_paths()) is None


def test_code_paths_name_both_packages_and_the_interpreter():
    import rootlesskube

    paths = selfcheck.code_paths()
    assert sys_executable() in paths
    assert selfcheck.__file__ in paths
    assert os.path.join(os.path.dirname(rootlesskube.__file__), "cli", "doctor.py") in paths


def sys_executable() -> str:
    import sys

    return sys.executable


@pytest.mark.parametrize("subcommand", ["plan", "apply", "lab"])
def test_every_root_subcommand_refuses_before_it_reads_anything(subcommand, tree, monkeypatch, capsys):
    from host_setup.__main__ import run

    os.chown(tree / "pkg", NOBODY, -1)
    monkeypatch.setattr(selfcheck, "code_paths", lambda: [str(tree / "pkg" / "code.py")])
    args = {"plan": ["plan", "--user", "nosuchuser-h19"], "apply": ["apply", "--yes", "--user", "nosuchuser-h19"],
            "lab": ["lab", "--users", "a", "--roster", str(tree / "r.csv"), "--yes"]}[subcommand]
    monkeypatch.setenv("NO_COLOR", "1")
    code = run(args)
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == (f"error: rootlesskube-host-setup refuses to run as root: {tree}/pkg is owned by "
                                   f"nobody (uid {NOBODY}), so another user could change the code root runs")
    assert ROOT_INSTALL in err
    assert not (tree / "r.csv").exists()
