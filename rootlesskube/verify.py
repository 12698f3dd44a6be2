"""The rootless proof: who owns a container's processes on the host, and through which map.

A process inside a container saying "uid 1000" proves nothing. What proves
rootlessness is what the host kernel says about every process of the
container (and of PMM, kubelet, containerd... inside a node container):

- no host uid or gid 0 (real, effective or saved);
- every host uid is the user's own or in the user's /etc/subuid ranges
  (gids likewise with /etc/subgid);
- the container's processes run in a user namespace (their uid_map is not the
  identity map `0 0 4294967295`);
- a process that is uid 0 in the container is the user's own uid on the host.

The same rules apply to the container's conmon and network helper, which run
on the host beside it.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import psutil

from . import names
from .errors import RootlesskubeError, UsageError
from .host import subids
from .host.view import HostView
from .podman import Podman, PodmanInfo
from .proc import ProcessFacts, is_identity, namespace_inode, read_process, to_container

CONTAINER, CONMON, NETWORK = "container", "conmon", "network"
OK, OFFENDER = "ok", "offender"
NETWORK_HELPERS = ("slirp4netns", "pasta", "pasta.avx2")
PORT_HELPERS = ("rootlessport", "rootlessport-child")
ROOTLESS_NETNS_PREFIX = "rootless-netns"  # podman's shared namespace for rootless bridge networks


@dataclass(frozen=True)
class UserIds:
    """The invoking user's ids: what a rootless process may run as on the host."""

    name: str
    uid: int
    gid: int
    subuids: Tuple[Tuple[int, int], ...] = ()  # (start, count)
    subgids: Tuple[Tuple[int, int], ...] = ()

    @classmethod
    def lookup(cls, name: Optional[str] = None, host: Optional[HostView] = None) -> "UserIds":
        """The user's ids from the passwd database and /etc/subuid, /etc/subgid (default: the caller)."""
        host = host or HostView()
        if name is None:
            entry = pwd.getpwuid(os.geteuid())
        else:
            try:
                entry = pwd.getpwnam(names.user_name(name))
            except KeyError:
                raise UsageError(f"there is no user named {name!r} on this host",
                                 hint="give --user the name of an existing account") from None
        return cls(
            name=entry.pw_name,
            uid=entry.pw_uid,
            gid=entry.pw_gid,
            subuids=_ranges(host, "/etc/subuid", entry.pw_name, entry.pw_uid),
            subgids=_ranges(host, "/etc/subgid", entry.pw_name, entry.pw_uid),
        )

    def owns_uid(self, uid: int) -> bool:
        return uid == self.uid or any(start <= uid < start + count for start, count in self.subuids)

    def owns_gid(self, gid: int) -> bool:
        return gid == self.gid or any(start <= gid < start + count for start, count in self.subgids)

    def as_dict(self) -> dict:
        return {
            "name": self.name, "uid": self.uid, "gid": self.gid,
            "subuids": [{"start": s, "count": c} for s, c in self.subuids],
            "subgids": [{"start": s, "count": c} for s, c in self.subgids],
        }


def _ranges(host: HostView, path: str, name: str, uid: int) -> Tuple[Tuple[int, int], ...]:
    entries, _problems = subids.parse(host.read(path) or "", path)  # malformed lines grant nothing
    return tuple((e.start, e.count) for e in subids.entries_for(entries, name, uid))


@dataclass
class ProcessRecord:
    pid: int
    ppid: int
    role: str  # container | conmon | network
    command: str
    host_uids: Tuple[int, int, int]
    host_gids: Tuple[int, int, int]
    container_uids: Tuple[Optional[int], ...]
    container_gids: Tuple[Optional[int], ...]
    userns: Optional[int]
    uid_map: Tuple[str, ...]
    why: str = ""  # how this process was tied to the subject
    reasons: List[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return OFFENDER if self.reasons else OK

    def as_dict(self) -> dict:
        return {
            "pid": self.pid, "ppid": self.ppid, "role": self.role, "command": self.command,
            "host_uids": list(self.host_uids), "host_gids": list(self.host_gids),
            "container_uids": list(self.container_uids), "container_gids": list(self.container_gids),
            "userns": self.userns, "uid_map": list(self.uid_map), "why": self.why,
            "verdict": self.verdict, "reasons": list(self.reasons),
        }


@dataclass
class Proof:
    subject: str  # "container NAME" or "pid N"
    user: UserIds
    records: List[ProcessRecord]
    problems: List[str] = field(default_factory=list)  # reasons not tied to one process
    podman: Optional[PodmanInfo] = None

    @property
    def offenders(self) -> List[ProcessRecord]:
        return [r for r in self.records if r.reasons]

    @property
    def rootless(self) -> bool:
        return bool(self.records) and not self.problems and not self.offenders

    def verdict_line(self) -> str:
        if self.rootless:
            return (f"rootless: all {len(self.records)} processes of {self.subject} run as {self.user.name} "
                    f"(uid {self.user.uid}) or its subordinate ids, inside a user namespace")
        causes = list(self.problems) + [
            f"pid {r.pid} ({_short(r.command)}): {'; '.join(r.reasons)}" for r in self.offenders]
        return f"NOT rootless: {self.subject}: " + " | ".join(causes)

    def as_dict(self) -> dict:
        return {
            "subject": self.subject,
            "rootless": self.rootless,
            "verdict": self.verdict_line(),
            "user": self.user.as_dict(),
            "podman": self.podman.as_dict() if self.podman else None,
            "problems": list(self.problems),
            "offenders": [r.pid for r in self.offenders],
            "records": [r.as_dict() for r in self.records],
        }


def _short(command: str, width: int = 60) -> str:
    return command if len(command) <= width else command[: width - 3] + "..."


def judge(facts: ProcessFacts, role: str, user: UserIds) -> List[str]:
    """Every reason this process is not rootless (empty: it is)."""
    reasons = []
    for kind, ids, owns in (("uid", facts.uids, user.owns_uid), ("gid", facts.gids, user.owns_gid)):
        for label, value in zip(("real", "effective", "saved"), ids):
            if value == 0:
                reasons.append(f"host {label} {kind} is 0 (root)")
            elif not owns(value):
                reasons.append(f"host {label} {kind} {value} is neither {user.name}'s own nor in "
                               f"{user.name}'s /etc/sub{kind} ranges")
    if role == CONTAINER:
        if is_identity(facts.uid_map):
            reasons.append("runs in the host user namespace (uid_map is the identity map 0 0 4294967295)")
        else:
            for host_uid in sorted(set(facts.uids)):
                if to_container(facts.uid_map, host_uid) == 0 and host_uid != user.uid:
                    reasons.append(f"container uid 0 is host uid {host_uid}, not {user.name}'s uid {user.uid}")
    return reasons


def record(facts: ProcessFacts, role: str, user: UserIds, why: str = "") -> ProcessRecord:
    return ProcessRecord(
        pid=facts.pid, ppid=facts.ppid, role=role, command=facts.command,
        host_uids=facts.uids, host_gids=facts.gids,
        container_uids=tuple(to_container(facts.uid_map, u) for u in facts.uids),
        container_gids=tuple(to_container(facts.gid_map, g) for g in facts.gids),
        userns=facts.userns, uid_map=tuple(e.as_text() for e in facts.uid_map),
        why=why, reasons=judge(facts, role, user),
    )


def verify_pid(pid: int, user: UserIds) -> Proof:
    """The proof for a process tree: pid and every descendant, judged as container processes."""
    if pid <= 0:
        raise UsageError(f"{pid} is not a process id", hint="give --pid a positive number")
    subject = f"pid {pid}"
    return Proof(subject, user, _tree_records(pid, user, subject))


def verify_container(podman: Podman, container: str, user: UserIds, info: Optional[PodmanInfo] = None) -> Proof:
    """The proof for a running container: its process tree, its conmon and its network helpers.

    Raises ContainerNotFound (podman's message) when there is no such container,
    RootlesskubeError when it is not running.
    """
    info = info or podman.info()
    state = podman.inspect(container)
    status = state.get("State", {})
    subject = f"container {container}"
    if not status.get("Running") or not status.get("Pid"):
        raise RootlesskubeError(
            f"container {container} is not running (status: {status.get('Status', 'unknown')}), "
            "so there are no processes to verify",
            hint=f"start it with `podman start {container}`, then verify again")
    pid = int(status["Pid"])
    records = _tree_records(pid, user, subject)
    problems = []
    if not info.rootless:
        problems.append("podman info reports rootless: false; this Podman runs containers as host root")

    conmon_pid = int(status.get("ConmonPid") or records[0].ppid)
    seen = {r.pid for r in records}
    extra = [(conmon_pid, CONMON, f"conmon of {container} (State.ConmonPid)")]
    extra += network_helpers(pid, state, owner_uid=records[0].host_uids[0])
    for helper_pid, role, why in extra:
        if helper_pid in seen:
            continue
        seen.add(helper_pid)
        try:
            records.append(record(read_process(helper_pid), role, user, why))
        except psutil.NoSuchProcess:
            continue
    return Proof(subject, user, records, problems, podman=info)


def _tree_records(pid: int, user: UserIds, subject: str) -> List[ProcessRecord]:
    try:
        root = psutil.Process(pid)
        descendants = root.children(recursive=True)
        records = [record(read_process(pid), CONTAINER, user, subject)]
    except psutil.NoSuchProcess:
        raise RootlesskubeError(f"there is no process with pid {pid}",
                                hint="check the pid with `ps -p PID`; the process may have exited") from None
    for child in descendants:
        try:
            records.append(record(read_process(child.pid), CONTAINER, user, f"descendant of pid {pid}"))
        except psutil.NoSuchProcess:
            continue  # exited while we looked
    return records


def network_helpers(pid: int, state: dict, owner_uid: int) -> List[Tuple[int, str, str]]:
    """The host processes that give this container its network, as (pid, role, why).

    - slirp4netns / pasta are started with the path of the network namespace
      they serve in their argv; inspect's NetworkSettings.SandboxKey is the
      container's. On a rootless bridge network the container sits inside the
      user's shared `rootless-netns`, so the helper of that namespace (owned by
      the same user) serves it.
    - rootlessport (port forwarding) and its child live in the network
      namespace they forward into: the same namespace inode as the container.
    """
    sandbox = (state.get("NetworkSettings") or {}).get("SandboxKey") or ""
    on_bridge = (state.get("HostConfig") or {}).get("NetworkMode") == "bridge"
    container_netns = _netns(pid)
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline", "uids"]):
        name = proc.info["name"] or ""
        argv = proc.info["cmdline"] or []
        if name in NETWORK_HELPERS:
            if sandbox and sandbox in argv:
                found.append((proc.pid, NETWORK, f"{name} for the container's network namespace {sandbox}"))
            elif on_bridge and proc.info["uids"] and proc.info["uids"].real == owner_uid and any(
                    os.path.basename(a).startswith(ROOTLESS_NETNS_PREFIX) for a in argv):
                found.append((proc.pid, NETWORK, f"{name} of the user's shared rootless-netns (bridge network)"))
        elif name in PORT_HELPERS and container_netns is not None and _netns(proc.pid) == container_netns:
            found.append((proc.pid, NETWORK, f"{name} in the container's network namespace"))
    return sorted(found)


def _netns(pid: int) -> Optional[int]:
    try:
        return namespace_inode(pid, "net")
    except psutil.NoSuchProcess:
        return None


