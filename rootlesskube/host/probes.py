"""The live `podman info` probe, kept light to import: doctor starts it before anything else (early.py)."""

from __future__ import annotations

import json
from typing import NamedTuple, Optional

from .. import run as runner

PODMAN_INFO_TIMEOUT = 30.0


class Probe(NamedTuple):
    """The outcome of one live command: parsed value or the error it gave."""

    value: object = None
    error: Optional[str] = None


def find_podman() -> Optional[str]:
    return runner.which("podman")


def podman_info() -> Probe:
    try:
        result = runner.run(["podman", "info", "--format", "json"], timeout=PODMAN_INFO_TIMEOUT)
    except runner.CommandError as exc:
        return Probe(error=str(exc))
    try:
        return Probe(value=json.loads(result.stdout))
    except json.JSONDecodeError as exc:
        return Probe(error=f"`podman info --format json` printed no valid JSON: {exc}")


