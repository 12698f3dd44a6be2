"""What a plan is made of: actions, each fixing one doctor check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

RELOGIN = "re-login"
REBOOT = "reboot"


@dataclass(frozen=True)
class FileChange:
    """A whole-file write: `old` is the content the plan saw (None: the file does not exist)."""

    path: str
    old: Optional[str]
    new: str
    mode: int = 0o644

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def added_lines(self) -> List[str]:
        old_lines = set((self.old or "").splitlines())
        return [line for line in self.new.splitlines() if line not in old_lines]

    def as_dict(self) -> dict:
        return {"path": self.path, "mode": f"{self.mode:04o}", "changed": self.changed,
                "added_lines": self.added_lines(), "content": self.new}


@dataclass(frozen=True)
class Action:
    check_id: str
    title: str
    writes: Tuple[FileChange, ...] = ()
    runs: Tuple[Tuple[str, ...], ...] = ()
    adds: Tuple[Tuple[str, str], ...] = ()  # (path, line) a command adds, for the reader
    chmod: Optional[Tuple[str, int]] = None
    then: Optional[str] = None  # RELOGIN or REBOOT
    requires: Optional[str] = None  # a switch apply needs before it does this
    skipped: Optional[str] = None  # why this action does nothing on this host
    manual: bool = False  # host_setup cannot fix this; `notes` say how
    refused: Optional[str] = None  # why host_setup will not touch this (a file it cannot parse): file and line
    notes: Tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {
            "check": self.check_id,
            "title": self.title,
            "writes": [w.as_dict() for w in self.writes],
            "runs": [list(argv) for argv in self.runs],
            "adds": [{"path": p, "line": line} for p, line in self.adds],
            "chmod": None if self.chmod is None else {"path": self.chmod[0], "mode": f"{self.chmod[1]:04o}"},
            "then": self.then,
            "requires": self.requires,
            "skipped": self.skipped,
            "manual": self.manual,
            "refused": self.refused,
            "notes": list(self.notes),
        }
