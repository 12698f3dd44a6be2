"""Carry out a plan: files through the atomic editor, commands through rootlesskube.run."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Callable, Collection, List, Sequence

from rootlesskube import ui
from rootlesskube.host.view import HostView
from rootlesskube.run import pretty, run

from . import atomic
from .model import Action

CHANGED, UNCHANGED, SKIPPED, NEEDS_FLAG, MANUAL, REFUSED = (
    "changed", "unchanged", "skipped", "needs-flag", "manual", "refused")
COMMAND_TIMEOUT = 600.0  # package installs are the slow case

Runner = Callable[[Sequence[str]], object]


@dataclass
class Outcome:
    check_id: str
    title: str
    status: str
    done: List[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"check": self.check_id, "title": self.title, "status": self.status, "done": self.done}


def run_command(argv: Sequence[str]) -> object:
    return run(list(argv), timeout=COMMAND_TIMEOUT)


def apply_plan(actions: List[Action], view: HostView, switches: Collection[str] = (),
               runner: Runner = run_command) -> List[Outcome]:
    """Apply each action: write what differs, then run its commands.

    The commands run even when the files are already right: an action is planned
    only while its check does not pass, so a modprobe, sysctl or daemon-reload that
    failed after its file was written is tried again.
    """
    return [_apply(action, view, switches, runner) for action in actions]


def pending(actions: List[Action], view: HostView, switches: Collection[str] = ()) -> List[Action]:
    """The actions apply would change something for (what the confirmation counts)."""
    return [a for a in actions if _runnable(a, switches) and (
        any(w.changed for w in a.writes) or a.runs or (a.chmod and _mode_differs(view, *a.chmod)))]


def _runnable(action: Action, switches: Collection[str]) -> bool:
    return not (action.manual or action.skipped or action.refused) and (
        not action.requires or action.requires in switches)


def _apply(action: Action, view: HostView, switches: Collection[str], runner: Runner) -> Outcome:
    outcome = Outcome(action.check_id, action.title, UNCHANGED)
    if action.manual:
        outcome.status = MANUAL
        outcome.done = list(action.notes)
        return outcome
    if action.refused:
        outcome.status = REFUSED
        outcome.done = [action.refused]
        return outcome
    if action.skipped:
        outcome.status = SKIPPED
        outcome.done = [action.skipped]
        return outcome
    if action.requires and action.requires not in switches:
        outcome.status = NEEDS_FLAG
        outcome.done = [f"not done: pass {action.requires} to do it"]
        return outcome
    with ui.step(action.title):
        for change in action.writes:
            written = atomic.replace_file(view.path(change.path), change.old, change.new, change.mode)
            if written.changed:
                backup = f" (backup {_host_path(view, written.backup)})" if written.backup else ""
                outcome.done.append(f"wrote {change.path}{backup}")
            elif action.runs:
                outcome.done.append(f"{change.path} already as needed")
        if action.chmod is not None and _chmod(view, *action.chmod):
            outcome.done.append(f"chmod {action.chmod[1]:04o} {action.chmod[0]}")
        for argv in action.runs:
            runner(argv)
            outcome.done.append(f"ran {pretty(argv)}")
    if outcome.done:
        outcome.status = CHANGED
    outcome.done += [note for note in action.notes if SKIPPED in note]
    return outcome


def _mode_differs(view: HostView, path: str, mode: int) -> bool:
    return stat.S_IMODE(os.stat(view.path(path)).st_mode) != mode


def _chmod(view: HostView, path: str, mode: int) -> bool:
    if not _mode_differs(view, path, mode):
        return False
    os.chmod(view.path(path), mode)
    return True


def _host_path(view: HostView, real: str) -> str:
    root = str(view.root).rstrip("/")
    return "/" + os.path.relpath(real, root) if root else real
