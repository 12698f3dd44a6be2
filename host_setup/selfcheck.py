"""Refuse to act as root from an install that someone other than root can change.

Root runs this package's code, rootlesskube's, their dependencies and the
interpreter. If any of those files, or any directory above them, can be
written by another user, that user can change what root runs at the next
`sudo` (a pipx install in ~/.local, a venv in a home directory, a checkout
the user owns). Like sudo with its sudoers file and sshd with authorized_keys,
host_setup then refuses, names the path, and says how to install it safely.

A path is safe when it is owned by root and writable by nobody else: not by
others, and by its group only when that group is root (sudo's rule for
sudoers: sudo_check_secure in sudo's lib/util/secure_path.c). A directory owned by root with the sticky bit (/tmp) is safe as an
ancestor: others may add entries to it but not rename or remove root's.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Set


def why_unsafe(path: str, st: os.stat_result) -> Optional[str]:
    """Why a non-root user could change this path (None when only root can)."""
    if st.st_uid != 0:
        return f"owned by {_user(st.st_uid)}"
    if stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:
        return None  # root's sticky directory: others cannot replace what root put there
    if st.st_mode & stat.S_IWOTH:
        return "writable by everyone"
    if st.st_mode & stat.S_IWGRP and st.st_gid != 0:
        return f"writable by the group {_group(st.st_gid)}"
    return None


def _user(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _group(gid: int) -> str:
    import grp

    try:
        return f"{grp.getgrgid(gid).gr_name} (gid {gid})"
    except KeyError:
        return f"gid {gid}"


def _with_ancestors(path: str) -> Iterator[str]:
    current = Path(path)
    yield str(current)
    yield from (str(parent) for parent in current.parents)


def code_paths() -> List[str]:
    """What root executes: the interpreter, the prefixes, every file of both packages, every loaded module."""
    import host_setup
    import rootlesskube

    paths: List[str] = [sys.executable, sys.prefix, sys.base_prefix]
    if sys.argv and os.path.isfile(sys.argv[0]):
        paths.append(sys.argv[0])  # the entry script, e.g. /usr/local/sbin/rootlesskube-host-setup
    for package in (host_setup, rootlesskube):
        folder = Path(package.__file__).parent
        paths.append(str(folder))
        paths.extend(str(p) for p in folder.rglob("*") if "__pycache__" not in p.parts)
    for module in list(sys.modules.values()):
        found = getattr(module, "__file__", None)
        if isinstance(found, str) and os.path.exists(found):
            paths.append(found)
    return paths


def first_unsafe(paths: Iterable[str]) -> Optional[str]:
    """'PATH is REASON' for the first path (or a directory above it) another user could change."""
    seen: Set[str] = set()
    for given in paths:
        absolute = os.path.abspath(given)
        # the path as named (its directories hold the symlinks) and the file it resolves to
        for start in (absolute, os.path.realpath(absolute)):
            for candidate in _with_ancestors(start):
                if candidate in seen:
                    continue
                seen.add(candidate)
                try:
                    st = os.stat(candidate)
                except OSError:
                    continue
                reason = why_unsafe(candidate, st)
                if reason:
                    return f"{candidate} is {reason}"
    return None


def refuse_unsafe_install(prog: str) -> None:
    """As root: raise UsageError (exit 2) when another user could change the code root is about to run."""
    if os.geteuid() != 0:
        return
    problem = first_unsafe(code_paths())
    if problem:
        from rootlesskube.errors import UsageError
        from rootlesskube.host.fixes import ROOT_INSTALL, ROOT_LINK

        raise UsageError(
            f"{prog} refuses to run as root: {problem}, so another user could change the code root runs",
            hint=f"install it root-owned (README.md, 'Preparing the host'), in the checkout: {ROOT_INSTALL}; "
                 f"then run sudo {ROOT_LINK} ...",
        )
