"""Terminal output: narration on stderr, data on stdout.

Human progress goes to stderr through rich (plain, stable text when NO_COLOR
is set, stderr is not a TTY, or CI is set). Machine output (`--json`) and a
command's report go to stdout. On GitHub Actions each step becomes a
collapsible group and a failure an error annotation.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

_consoles: dict = {}
_open_steps = [0]  # how many ui.step blocks are open: GitHub groups only the outermost (groups do not nest)


def plain() -> bool:
    """True when output must be plain text: NO_COLOR, CI, or not a terminal."""
    return bool(os.environ.get("NO_COLOR") or os.environ.get("CI")) or not sys.stderr.isatty()


def on_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def console(stderr: bool = True):
    """The rich Console for stderr (narration) or stdout (reports)."""
    stream = sys.stderr if stderr else sys.stdout
    key = (stderr, id(stream))
    if key not in _consoles:
        from rich.console import Console  # imported lazily: keeps `--help` fast

        simple = plain() if stderr else (plain() or not stream.isatty())
        _consoles[key] = Console(
            file=stream,
            no_color=simple,
            color_system=None if simple else "auto",
            highlight=False,
            emoji=False,
            soft_wrap=simple,
            width=200 if simple else None,
        )
    return _consoles[key]


def say(message: str) -> None:
    """A line of narration on stderr (no markup interpretation)."""
    console().print(message, markup=False)


def warn(message: str) -> None:
    if on_github_actions():
        print(f"::warning::{_gh_escape(message)}", file=sys.stderr)
    console().print(f"warning: {message}", markup=False, style="yellow")


def error(message: str, hint: Optional[str] = None) -> None:
    if on_github_actions():
        print(f"::error::{_gh_escape(message)}", file=sys.stderr)
    console().print(f"error: {message}", markup=False, style="bold red")
    if hint:
        console().print(f"hint: {hint}", markup=False, style="cyan")


def emit_json(data: Any) -> None:
    """Machine output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


@dataclass
class StepRecord:
    """What happened in one named step; reports are built from these."""

    name: str
    status: str = "running"  # running, passed, failed, skipped
    duration: float = 0.0
    message: str = ""
    detail: str = ""
    artifacts: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "status": self.status,
            "duration": round(self.duration, 3),
            "message": self.message,
            "detail": self.detail,
            "artifacts": [str(a) for a in self.artifacts],
        }


@contextlib.contextmanager
def step(name: str, quiet: bool = False) -> Iterator[StepRecord]:
    """Show a named step with its duration; records pass/fail on the yielded record.

    An exception marks the step failed and propagates. On GitHub Actions the
    outermost step is a collapsible group; steps inside it are plain lines in
    that group, because GitHub ends a group at the first ::endgroup:: it sees.
    """
    record = StepRecord(name)
    group = on_github_actions() and _open_steps[0] == 0
    if group:
        print(f"::group::{name}", file=sys.stderr, flush=True)
    elif not quiet:
        console().print(f"-> {name}", markup=False, style="bold")
    _open_steps[0] += 1
    started = time.monotonic()
    try:
        yield record
    except BaseException as exc:
        record.status = "failed"
        if not record.message:
            text = str(exc).strip()
            record.message = text.splitlines()[0] if text else type(exc).__name__
        raise
    else:
        if record.status == "running":
            record.status = "passed"
    finally:
        record.duration = time.monotonic() - started
        _open_steps[0] -= 1
        if group:
            print("::endgroup::", file=sys.stderr, flush=True)
        if not quiet:
            mark = {"passed": "ok", "failed": "FAILED", "skipped": "skipped"}.get(record.status, record.status)
            style = {"passed": "green", "failed": "bold red", "skipped": "yellow"}.get(record.status)
            console().print(f"   {mark}: {name} ({record.duration:.1f}s)", markup=False, style=style)


def _gh_escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
