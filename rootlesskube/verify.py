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
# Commands are cut short in reports: the start names the process; the rest is noise and may carry credentials.
COMMAND_WIDTH = 120
NAMED_OFFENDERS = 5  # in the one-line verdict; the report lists them all


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
        offenders = self.offenders
        causes = list(self.problems) + [
            f"pid {r.pid} ({_short(r.command, 40)}): {'; '.join(r.reasons)}" for r in offenders[:NAMED_OFFENDERS]]
        if len(offenders) > NAMED_OFFENDERS:
            causes.append(f"and {len(offenders) - NAMED_OFFENDERS} more offending processes (see the report)")
        if not self.records:
            causes.append("no process was found")
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


def _short(command: str, width: int) -> str:
    return command if len(command) <= width else command[: width - 3] + "..."


def judge(facts: ProcessFacts, role: str, user: UserIds) -> List[str]:
    """Every reason this process is not rootless (empty: it is)."""
    reasons = []
    for kind, ids, owns in (("uid", facts.uids, user.owns_uid), ("gid", facts.gids, user.owns_gid)):
        for value in sorted(set(ids)):
            which = ", ".join(label for label, v in zip(("real", "effective", "saved"), ids) if v == value)
            if value == 0:
                reasons.append(f"host {kind} 0 (root) as {which} {kind}")
            elif not owns(value):
                reasons.append(f"host {kind} {value} ({which}) is neither {user.name}'s own nor in "
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
        pid=facts.pid, ppid=facts.ppid, role=role, command=_short(facts.command, COMMAND_WIDTH),
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
    """The proof for a running container: its processes, its conmons and its network helpers.

    The container's processes are its init (inspect State.Pid), every process
    in the same pid namespace (that includes `podman exec` sessions, which are
    not descendants of init) and every descendant of those (pods in a node
    container have pid namespaces of their own). Raises ContainerNotFound
    (podman's message) when there is no such container, RootlesskubeError when
    it is not running.
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
    problems = []
    if not info.rootless:
        problems.append("podman info reports rootless: false; this Podman runs containers as host root")

    members = [(pid, subject)] + [(p, f"in the pid namespace of {subject}") for p in _same_pid_namespace(pid)]
    records = _records_with_descendants(members, user)
    if not records:
        raise RootlesskubeError(f"the processes of {subject} exited while they were read",
                                hint="check that the container is running (`podman ps`), then verify again")
    seen = {r.pid for r in records}
    helpers = conmons(state.get("Id", ""), status.get("ConmonPid"))
    helpers += network_helpers(pid, state, owner_uid=user.uid)
    for helper_pid, role, why in helpers:
        if helper_pid not in seen:
            seen.add(helper_pid)
            records += _records([(helper_pid, why)], role, user)
    return Proof(subject, user, records, problems, podman=info)


def _tree_records(pid: int, user: UserIds, subject: str) -> List[ProcessRecord]:
    if not psutil.pid_exists(pid):
        raise RootlesskubeError(f"there is no process with pid {pid}",
                                hint="check the pid with `ps -p PID`; the process may have exited")
    records = _records_with_descendants([(pid, subject)], user)
    if not records:
        raise RootlesskubeError(f"process {pid} exited while it was read", hint="verify a running process")
    return records


def _records_with_descendants(members: List[Tuple[int, str]], user: UserIds) -> List[ProcessRecord]:
    """Records of members and all their descendants, each pid once, in the order found."""
    wanted: List[Tuple[int, str]] = []
    seen = set()
    for member, why in members:
        try:
            children = psutil.Process(member).children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for found, reason in [(member, why)] + [(c.pid, f"descendant of pid {member}") for c in children]:
            if found not in seen:
                seen.add(found)
                wanted.append((found, reason))
    return _records(wanted, CONTAINER, user)


def _records(pids: List[Tuple[int, str]], role: str, user: UserIds) -> List[ProcessRecord]:
    records = []
    for pid, why in pids:
        try:
            records.append(record(read_process(pid), role, user, why))
        except psutil.NoSuchProcess:
            continue  # exited while we looked
    return records


def _same_pid_namespace(pid: int) -> List[int]:
    """Other processes in pid's pid namespace (those whose namespace we may read).

    Nothing when that is our own pid namespace (a container run with --pid=host):
    then every process of the host would count as the container's.
    """
    target = namespace_inode(pid, "pid")
    if target is None or target == namespace_inode(os.getpid(), "pid"):
        return []
    found = []
    for other in psutil.pids():
        if other == pid:
            continue
        try:
            if namespace_inode(other, "pid") == target:
                found.append(other)
        except psutil.NoSuchProcess:
            continue
    return found


def conmons(container_id: str, conmon_pid) -> List[Tuple[int, str, str]]:
    """The container's conmon (State.ConmonPid) and those of its exec sessions (`-c ID` in their argv)."""
    found = []
    if conmon_pid:
        found.append((int(conmon_pid), CONMON, "conmon of the container (State.ConmonPid)"))
    if container_id:
        for proc in psutil.process_iter(["name", "cmdline"]):
            argv = proc.info["cmdline"] or []
            if proc.info["name"] == "conmon" and container_id in argv and proc.pid != conmon_pid:
                found.append((proc.pid, CONMON, "conmon of an exec session (its argv names the container id)"))
    return found


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
        argv = proc.info["cmdline"] or []
        # argv[0], not comm: rootlessport re-executes itself as /proc/self/exe, so its child's comm is "exe"
        name = os.path.basename(argv[0]) if argv else (proc.info["name"] or "")
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


