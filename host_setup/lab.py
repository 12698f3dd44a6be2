"""A workshop host: many users, each with its own subid ranges and block of host ports.

The roster (JSON or CSV, by the file's suffix) is the memory between runs:
re-running with more users keeps every assignment already in it.
"""

from __future__ import annotations

import csv
import io
import json
import pwd
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from rootlesskube.errors import UsageError
from rootlesskube.host import users
from rootlesskube.host.view import HostView

from . import atomic, content, subid
from .apply import Runner, apply_plan
from .plan import Target, linger_action, subid_actions

FIRST_PORT = 20000
# Usernetes publishes 6443, 10250, 2379 and 8472/udp; kind and minikube need an API port.
MIN_PORTS_PER_USER = 5


@dataclass(frozen=True)
class Assignment:
    user: str
    uid: int
    subuid_start: int
    subuid_count: int
    subgid_start: int
    subgid_count: int
    port_first: int
    port_last: int


COLUMNS = [f.name for f in fields(Assignment)]


def lab_users(users: Optional[str], count: Optional[int], prefix: str) -> List[str]:
    from rootlesskube import names

    if users and count:
        raise UsageError("lab takes either --users or --count, not both",
                         hint="name the users (--users a,b,c) or number them (--count N --prefix P)")
    if users:
        wanted = [u.strip() for u in users.split(",") if u.strip()]
    elif count:
        wanted = [f"{prefix}{n}" for n in range(1, count + 1)]
    else:
        raise UsageError("lab needs the users: --users a,b,c or --count N [--prefix P]",
                         hint="see 'rootlesskube-host-setup lab --help'")
    for name in wanted:
        names.user_name(name)
    return list(dict.fromkeys(wanted))


def read_roster(path: Path) -> List[Assignment]:
    """The roster's rows, validated as a whole (roster_check); [] when the file does not exist yet,
    whose folder must then exist and be writable (checked before any user is created)."""
    import os

    from rootlesskube import inputs

    from . import roster_check

    kind = _kind(path)
    if not os.path.lexists(path):
        inputs.check_output(str(path), "roster")
        return []
    rows = roster_check.read_rows(str(path), kind, COLUMNS)
    roster_check.check_rows(rows)
    return [Assignment(**row) for _, row in rows]


def roster_text(path: Path, assignments: Sequence[Assignment]) -> str:
    if _kind(path) == "json":
        return json.dumps([asdict(a) for a in assignments], indent=2) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(a) for a in assignments)
    return out.getvalue()


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise UsageError(f"the roster {path} must end in .json or .csv", hint="for example --roster lab.json")
    return suffix[1:]


def port_block(taken: List[Assignment], per_user: int, first_port: int = FIRST_PORT) -> range:
    """The lowest block of per_user ports that no assignment uses."""
    start = first_port
    for other in sorted(taken, key=lambda a: a.port_first):
        if start <= other.port_last and other.port_first < start + per_user:
            start = other.port_last + 1
    if start + per_user - 1 > 65535:
        raise UsageError(f"no block of {per_user} ports is left below 65536", hint="use fewer --ports-per-user")
    return range(start, start + per_user)


def prepare_lab(view: HostView, wanted: List[str], roster: List[Assignment], per_user: int, subid_count: int,
                create_user: Callable[[str], None], runner: Runner) -> List[Assignment]:
    """Create missing users, give each subid ranges, lingering and a port block; the new roster."""
    kept: Dict[str, Assignment] = {a.user: a for a in roster}
    result = list(roster)
    for name in wanted:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            create_user(name)
            entry = pwd.getpwnam(name)
        target = Target(name, entry.pw_uid)
        apply_plan(subid_actions(view, target, subid_count) + [linger_action(view, target)], view, runner=runner)
        real = users.real_ids(view)
        uid_range = subid.usable_range(subid.entries(atomic.read_text(view.path(content.SUBUID)), content.SUBUID),
                                       name, entry.pw_uid, subid_count, real)
        gid_range = subid.usable_range(subid.entries(atomic.read_text(view.path(content.SUBGID)), content.SUBGID),
                                       name, entry.pw_uid, subid_count, real)
        old = kept.get(name)
        ports = (range(old.port_first, old.port_last + 1) if old
                 else port_block(result, per_user))
        assignment = Assignment(name, entry.pw_uid, uid_range.start, uid_range.count, gid_range.start,
                                gid_range.count, ports[0], ports[-1])
        if old is None:
            result.append(assignment)
        else:
            result = [assignment if a.user == name else a for a in result]
    return result
