"""Pure functions over the text of /etc/subuid and /etc/subgid.

Each line is OWNER:START:COUNT, OWNER a user name or a numeric uid. The doctor
reads these to judge a user's range; host_setup uses `free_range` to pick a
new one. Nothing here touches the file system.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Tuple

MIN_COUNT = 65536
# Real uids live below this (login.defs UID_MAX is 60000; nobody is 65534).
UID_CEILING = 65536
START_FLOOR = 100000


@dataclass(frozen=True)
class SubidEntry:
    owner: str
    start: int
    count: int
    line_no: int

    @property
    def end(self) -> int:
        """One past the last id of the range."""
        return self.start + self.count

    def intersects(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


def parse(text: str, path: str) -> Tuple[List[SubidEntry], List[str]]:
    """The entries of a subuid/subgid file and one problem per line that is not an entry.

    Blank lines and `#` comments are skipped; a problem names the file and line.
    """
    entries: List[SubidEntry] = []
    problems: List[str] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) != 3 or not fields[0]:
            problems.append(f"{path} line {line_no}: {line!r} is not OWNER:START:COUNT")
            continue
        owner, start, count = fields
        if not (start.isdigit() and count.isdigit()):
            problems.append(f"{path} line {line_no}: {line!r} has a START or COUNT that is not a number")
            continue
        if int(count) == 0:
            problems.append(f"{path} line {line_no}: {line!r} has a COUNT of 0")
            continue
        entries.append(SubidEntry(owner, int(start), int(count), line_no))
    return entries, problems


def entries_for(entries: List[SubidEntry], user_name: str, uid: int) -> List[SubidEntry]:
    """The entries that belong to the user, by name or by numeric uid (as shadow-utils matches)."""
    return [e for e in entries if e.owner == user_name or e.owner == str(uid)]


def overlaps(entries: List[SubidEntry]) -> List[Tuple[SubidEntry, SubidEntry]]:
    """Every pair of entries whose ranges share at least one id, in file order."""
    ordered = sorted(entries, key=lambda e: (e.start, e.line_no))
    pairs: List[Tuple[SubidEntry, SubidEntry]] = []
    for i, first in enumerate(ordered):
        for second in ordered[i + 1:]:
            if second.start >= first.end:
                break
            pair = (first, second) if first.line_no < second.line_no else (second, first)
            pairs.append(pair)
    return sorted(pairs, key=lambda p: (p[0].line_no, p[1].line_no))


def real_ids_inside(entry: SubidEntry, real_ids: Iterable[int]) -> List[int]:
    """The real ids (of users and groups, from /etc/passwd and /etc/group) that the entry's range contains."""
    return sorted(i for i in set(real_ids) if entry.start <= i < entry.end)


def free_range(entries: List[SubidEntry], count: int = MIN_COUNT, uid_ceiling: int = UID_CEILING,
               start_floor: int = START_FLOOR, real_ids: Iterable[int] = ()) -> int:
    """The lowest start of `count` ids that overlaps no entry and no real id.

    Real ids live below uid_ceiling; any above it (real_ids: every uid and gid the host
    has) is stepped over like a one-id range.
    """
    if count <= 0:
        raise ValueError("count must be positive")
    start = max(start_floor, uid_ceiling)
    taken = sorted([(e.start, e.end) for e in entries] + [(i, i + 1) for i in set(real_ids) if i >= start])
    for first, end in taken:
        if first < start + count and start < end:
            start = end
    return start
