"""The result of one host check, as `doctor` prints it and host_setup reads it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
STATUSES = (PASS, WARN, FAIL, SKIP)


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: str
    title: str
    detail: str
    fix: Optional[str] = None

    def as_dict(self) -> dict:
        return asdict(self)
