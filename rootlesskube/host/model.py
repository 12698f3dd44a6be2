"""The result of one host check, as `doctor` prints it and host_setup reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
STATUSES = (PASS, WARN, FAIL, SKIP)


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: str
    title: str
    detail: str
    fix: Optional[str] = None
    # what the check found lacking, for host_setup to act on (e.g. the binaries without an
    # AppArmor profile); in-process only, not part of the JSON report
    subjects: Tuple[str, ...] = field(default=(), compare=False)

    def as_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "title": self.title, "detail": self.detail, "fix": self.fix}
