"""A workshop host: many users, each with its own subid ranges and block of host ports.

The roster (JSON or CSV, by the file's suffix) is the memory between runs:
re-running with more users keeps every assignment already in it.
"""

from __future__ import annotations

import pwd
from typing import Callable, Dict, List, Optional

from rootlesskube.errors import UsageError
from rootlesskube.host import content, users
from rootlesskube.host.view import HostView
from rootlesskube.recipe.roster import Assignment

from . import atomic, subid
from .apply import Runner, apply_plan
from .plan import Target, linger_action, subid_actions

FIRST_PORT = 20000
# Usernetes publishes 6443, 10250, 2379 and 8472/udp; kind and minikube need an API port.
MIN_PORTS_PER_USER = 5


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
