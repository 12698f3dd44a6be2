"""Pod Security levels and policy versions, as the admission controller parses them.

A version is `latest` or `v1.N` (`api.ParseVersion`: no leading zeros, no
other major). `latest` and any version newer than the newest policy version
evaluate as the newest one, while messages keep the text as written
(`"restricted:v1.99"`). Rules: ../shared/reference/pss-checks.md section 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError

PRIVILEGED = "privileged"
BASELINE = "baseline"
RESTRICTED = "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)

LATEST = "latest"
NEWEST_MINOR = 37
"""The largest MinimumVersion of any check (upstream master, 2026-07-01): `latest` means v1.37."""

_VERSION = re.compile(r"v1\.(0|[1-9][0-9]{0,8})")  # at most 9 digits: int() stays cheap


@dataclass(frozen=True)
class PolicyVersion:
    """A policy version: the label text as written and the minor it evaluates as."""

    text: str
    minor: int

    def __str__(self) -> str:
        return self.text


def validate_level(value: str) -> str:
    """Return value if it is a Pod Security level, else raise UsageError naming the levels."""
    if value not in LEVELS:
        raise UsageError(
            f"{value!r} is not a Pod Security level",
            hint=f"use one of {', '.join(LEVELS)}",
        )
    return value


def parse_version(value: str) -> PolicyVersion:
    """Parse `latest` or `v1.N`; versions above the newest are clamped, the text is kept."""
    if value == LATEST:
        return PolicyVersion(value, NEWEST_MINOR)
    match = _VERSION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise UsageError(
            f"{value!r} is not a Pod Security policy version",
            hint='use "latest" or "v1.N" (for example v1.35; no leading zeros)',
        )
    return PolicyVersion(value, min(int(match.group(1)), NEWEST_MINOR))


def validate_version(value: str) -> str:
    """Return value if it is a valid policy version (`latest` or `v1.N`), else raise UsageError."""
    return parse_version(value).text
