"""The user the doctor checks, read from the view's /etc/passwd and /etc/group."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet

from .. import names
from ..errors import UsageError
from .view import HostReadError, HostView


@dataclass(frozen=True)
class HostUser:
    name: str
    uid: int
    gid: int
    home: str
    groups: FrozenSet[int] = field(default_factory=frozenset)  # primary and supplementary gids


def lookup(view: HostView, name: str) -> HostUser:
    """The user's passwd entry in the view; UsageError when there is none."""
    names.user_name(name)
    try:
        passwd = view.read("/etc/passwd")
    except HostReadError as exc:
        raise UsageError(f"cannot read {view.path(exc.path)}: {exc.reason}") from None
    for line in (passwd or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 7 and fields[0] == name and fields[2].isdigit() and fields[3].isdigit():
            uid, gid = int(fields[2]), int(fields[3])
            return HostUser(name, uid, gid, fields[5], frozenset({gid}) | _supplementary(view, name))
    raise UsageError(
        f"there is no user {name!r} in {view.path('/etc/passwd')}",
        hint="name an existing user with --user NAME (or create it: useradd -m NAME)",
    )


def _supplementary(view: HostView, name: str) -> FrozenSet[int]:
    try:
        text = view.read("/etc/group") or ""
    except HostReadError:
        return frozenset()
    gids = set()
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) == 4 and fields[2].isdigit() and name in fields[3].split(","):
            gids.add(int(fields[2]))
    return frozenset(gids)


def real_ids(view: HostView) -> Dict[int, str]:
    """Every uid in /etc/passwd and gid in /etc/group, each with whose it is ("uid 70000 of bob").

    Subordinate ranges must not contain them. An unreadable file gives what the other has.
    """
    found: Dict[int, str] = {}
    for path, kind in (("/etc/group", "gid"), ("/etc/passwd", "uid")):
        try:
            text = view.read(path) or ""
        except HostReadError:
            continue
        for line in text.splitlines():
            fields = line.split(":")
            if len(fields) >= 3 and fields[2].isdigit():
                owner = fields[0] if kind == "uid" else f"group {fields[0]}"
                found[int(fields[2])] = f"{kind} {fields[2]} of {owner}"
    return found
