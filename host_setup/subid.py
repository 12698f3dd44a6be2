"""Choosing subordinate id ranges, on top of the doctor's parser (rootlesskube.host.subids)."""

from __future__ import annotations

from typing import Iterable, List, Optional

from rootlesskube.errors import RootlesskubeError
from rootlesskube.host import subids
from rootlesskube.host.subids import SubidEntry


class UnparsableFile(RootlesskubeError):
    pass


def entries(text: Optional[str], path: str) -> List[SubidEntry]:
    """The file's entries; a line that is not an entry stops everything, file untouched."""
    found, problems = subids.parse(text or "", path)
    if problems:
        raise UnparsableFile(
            f"cannot edit {problems[0]}",
            hint="fix or remove that line by hand, then run this again; the file was not changed",
        )
    return found


def usable_range(found: List[SubidEntry], user: str, uid: int, count: int,
                 real_ids: Iterable[int] = ()) -> Optional[SubidEntry]:
    """The user's first range of at least `count` ids that overlaps no other entry and no real id."""
    clashing = {id(e) for pair in subids.overlaps(found) for e in pair}
    for entry in subids.entries_for(found, user, uid):
        if entry.count >= count and id(entry) not in clashing and not entry.intersects(0, subids.UID_CEILING) \
                and not subids.real_ids_inside(entry, real_ids):
            return entry
    return None


def common_free_start(uid_entries: List[SubidEntry], gid_entries: List[SubidEntry], count: int,
                      real_ids: Iterable[int] = ()) -> int:
    """A start free in both files and of every real uid and gid, so the user gets the same range for both."""
    return subids.free_range(uid_entries + gid_entries, count, real_ids=real_ids)
