"""What the host kernel says about one process: owners, user namespace, id maps.

Read from /proc (through psutil for the uids and gids) in the host's pid and
user namespaces, so every uid is a host uid and every id map is relative to
the host. Used by the rootless proof (rootlesskube.verify).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Tuple

import psutil

# The kernel's map of the initial user namespace: every id maps to itself.
IDENTITY_MAP_TEXT = "0 0 4294967295"


@dataclass(frozen=True)
class IdMapEntry:
    """One line of /proc/PID/uid_map (or gid_map): inside, outside, count."""

    container_id: int
    host_id: int
    size: int

    def to_container(self, host_id: int) -> Optional[int]:
        if self.host_id <= host_id < self.host_id + self.size:
            return self.container_id + (host_id - self.host_id)
        return None

    def to_host(self, container_id: int) -> Optional[int]:
        if self.container_id <= container_id < self.container_id + self.size:
            return self.host_id + (container_id - self.container_id)
        return None

    def as_text(self) -> str:
        return f"{self.container_id} {self.host_id} {self.size}"


IdMap = Tuple[IdMapEntry, ...]


def parse_id_map(text: str) -> IdMap:
    """The entries of an id map in the kernel's format (`%10u %10u %10u` per line)."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or not all(f.isdigit() for f in fields):
            raise ValueError(f"not an id map line: {line!r}")
        entries.append(IdMapEntry(*(int(f) for f in fields)))
    return tuple(entries)


def is_identity(id_map: IdMap) -> bool:
    """True for the initial user namespace's map (no user namespace at all)."""
    return [e.as_text() for e in id_map] == [IDENTITY_MAP_TEXT]


def to_container(id_map: IdMap, host_id: int) -> Optional[int]:
    """The id inside the namespace that host_id appears as; None when it is not mapped."""
    for entry in id_map:
        found = entry.to_container(host_id)
        if found is not None:
            return found
    return None


def to_host(id_map: IdMap, container_id: int) -> Optional[int]:
    for entry in id_map:
        found = entry.to_host(container_id)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class ProcessFacts:
    pid: int
    ppid: int
    name: str
    command: str
    uids: Tuple[int, int, int]  # real, effective, saved (host)
    gids: Tuple[int, int, int]
    userns: Optional[int]  # inode of /proc/PID/ns/user; None when we may not read it
    netns: Optional[int]
    uid_map: IdMap
    gid_map: IdMap


def read_process(pid: int) -> ProcessFacts:
    """Everything the proof needs about pid; psutil.NoSuchProcess when it is gone."""
    proc = psutil.Process(pid)
    with proc.oneshot():
        uids = tuple(proc.uids())
        gids = tuple(proc.gids())
        name = proc.name()
        ppid = proc.ppid()
        try:
            argv = proc.cmdline()
        except (psutil.AccessDenied, psutil.ZombieProcess):
            argv = []
    return ProcessFacts(
        pid=pid,
        ppid=ppid,
        name=name,
        command=" ".join(argv) or f"[{name}]",
        uids=uids,  # type: ignore[arg-type]
        gids=gids,  # type: ignore[arg-type]
        userns=namespace_inode(pid, "user"),
        netns=namespace_inode(pid, "net"),
        uid_map=_read_map(pid, "uid_map"),
        gid_map=_read_map(pid, "gid_map"),
    )


def namespace_inode(pid: int, kind: str) -> Optional[int]:
    """The inode of /proc/PID/ns/KIND; None when ptrace rules forbid reading it (another user's process)."""
    try:
        link = os.readlink(f"/proc/{pid}/ns/{kind}")  # e.g. "user:[4026531837]"
    except PermissionError:
        return None
    except FileNotFoundError:
        raise psutil.NoSuchProcess(pid) from None
    return int(link[link.index("[") + 1: -1])


def _read_map(pid: int, which: str) -> IdMap:
    try:
        with open(f"/proc/{pid}/{which}") as handle:  # world-readable, unlike ns/
            return parse_id_map(handle.read())
    except FileNotFoundError:
        raise psutil.NoSuchProcess(pid) from None
