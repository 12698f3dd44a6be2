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
    live = _LiveSteps.enter(name, started) if not (quiet or group or plain()) else None
    try:
        yield record
    except BaseException as exc:
        record.status = "failed"
        if not record.message:
            record.message = summary(str(exc)) or type(exc).__name__
        raise
    else:
        if record.status == "running":
            record.status = "passed"
    finally:
        if live is not None:
            live.leave()
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


def summary(text: str) -> str:
    """A failure's message as one line: its first line, and when that line only introduces what
    follows ("the host is not ready for kind:"), the lines it introduces, joined with "; "."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].endswith(":") and len(lines) > 1:
        return lines[0] + " " + "; ".join(lines[1:])
    return lines[0]


def progress_count(done: int, total: Optional[int], unit: str, owner: Optional[int] = None) -> None:
    """Work counted in units (an image's layers): a bar next to the live spinner on a terminal when
    the total is known, the count alone when not; nothing in plain output. `owner` is the thread
    that started the work: work in the background (an early image pull) does not show in the step
    another thread is running."""
    if _LiveSteps.owns(owner):
        _LiveSteps.count(done, total, unit)


def progress(line: str, owner: Optional[int] = None) -> None:
    """The latest progress line of the running step (a tool's own output): shown next to the live
    spinner on a terminal; ignored in plain output, which stays line-based and stable."""
    if _LiveSteps.owns(owner):
        _LiveSteps.line(line)


class _LiveSteps:
    """One rich Live display on stderr while steps run on a terminal: a spinner, the innermost step,
    its elapsed time and the latest line of the tool it runs. Nested steps share it (rich allows one
    Live per console); the `-> step` and `ok: step (12.3s)` lines are printed above it as before."""

    _live = None
    _stack: list = []
    _line = ""
    _count: Optional[tuple] = None  # (done, total or None, unit) of the running step

    def __init__(self, name: str, started: float):
        import threading

        self.name, self.started, self.thread = name, started, threading.get_ident()

    @classmethod
    def owns(cls, owner: Optional[int]) -> bool:
        stack = cls._stack
        return bool(stack) and (owner is None or stack[-1].thread == owner)

    @classmethod
    def enter(cls, name: str, started: float) -> "_LiveSteps":
        entry = cls(name, started)
        cls._stack.append(entry)
        cls._line, cls._count = "", None
        if cls._live is None:
            from rich.live import Live

            cls._live = Live(_Renderable(), console=console(), transient=True, refresh_per_second=8)
            cls._live.start()
        return entry

    def leave(self) -> None:
        cls = type(self)
        if self in cls._stack:
            cls._stack.remove(self)
        cls._line, cls._count = "", None
        if not cls._stack and cls._live is not None:
            live, cls._live = cls._live, None
            live.stop()

    @classmethod
    def count(cls, done: int, total: Optional[int], unit: str) -> None:
        if cls._live is not None:
            cls._count = (done, total, unit)

    @classmethod
    def line(cls, text: str) -> None:
        text = " ".join(text.split())
        if cls._live is not None and text:
            cls._line = text


class _Renderable:
    """What the Live display draws at each refresh."""

    def __init__(self):
        from rich.spinner import Spinner

        self.spinner = Spinner("dots")

    def __rich_console__(self, rich_console, options):
        from rich.table import Table
        from rich.text import Text

        steps = _LiveSteps._stack
        if not steps:
            return
        current = steps[-1]
        elapsed = time.monotonic() - current.started
        text = Text(f"{current.name} ({elapsed:.0f}s)", style="bold")
        if _LiveSteps._line:
            text.append(f"  {_LiveSteps._line}", style="dim")
        count = _LiveSteps._count
        text.truncate(max(options.max_width - (3 if count is None else 50), 10), overflow="ellipsis")
        grid = Table.grid(padding=(0, 1))
        if count is None:
            grid.add_row(self.spinner, text)
        else:
            from rich.progress_bar import ProgressBar

            done, total, unit = count
            bar = ProgressBar(total=total, completed=done, width=30)  # total None: a pulsing bar
            grid.add_row(self.spinner, bar, Text(f"{done}/{total} {unit}" if total else f"{done} {unit}"), text)
        yield grid
