"""The lab roster: the file `rootlesskube-host-setup lab` writes and the lab recipe reads.

One row per user (JSON or CSV, by the file's suffix): the user's subordinate id ranges
and block of host ports. It is the memory between lab runs, and each user's cluster
takes its ports from it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import List, Sequence

from ..errors import UsageError


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


def read_roster(path: Path) -> List[Assignment]:
    """The roster's rows, validated as a whole (roster_check); [] when the file does not exist yet,
    whose folder must then exist and be writable (checked before any user is created)."""
    import os

    from .. import inputs
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
