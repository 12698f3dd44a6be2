"""The human view of a plan and of what apply did (the JSON view is as_dict of the same objects)."""

from __future__ import annotations

from typing import List

from rootlesskube.run import pretty

from .apply import CHANGED, Outcome
from .model import Action


def plan_text(actions: List[Action], user: str) -> str:
    if not actions:
        return f"Nothing to do: every check host_setup can fix passes for {user}.\n"
    out = [f"Plan for {user} ({len(actions)} actions):", ""]
    for number, action in enumerate(actions, start=1):
        out.append(f"{number}. [{action.check_id}] {action.title}")
        if action.manual:
            out.append("   not automatic: " + "; ".join(action.notes))
            if action.then:
                out.append(f"   then: {action.then}")
            out.append("")
            continue
        if action.refused:
            out += [f"   refused, nothing changed: {action.refused}", ""]
            continue
        if action.skipped:
            out.append(f"   {action.skipped}")
        for change in action.writes:
            if not change.changed:
                out.append(f"   {change.path}: already as needed")
                continue
            verb = "create" if change.old is None else "edit"
            out.append(f"   {verb} {change.path} (mode {change.mode:04o}), adding:")
            out += [f"     | {line}" for line in change.added_lines()]
        for path, line in action.adds:
            if not any(change.path == path for change in action.writes):
                out.append(f"   adds to {path}: {line}")
        if action.chmod:
            out.append(f"   chmod {action.chmod[1]:04o} {action.chmod[0]}")
        out += [f"   run: {pretty(argv)}" for argv in action.runs]
        out += [f"   note: {note}" for note in action.notes]
        if action.requires:
            out.append(f"   apply does this only with {action.requires}")
        if action.then:
            out.append(f"   then: {action.then}")
        out.append("")
    return "\n".join(out)


def outcomes_text(outcomes: List[Outcome]) -> str:
    out = []
    for outcome in outcomes:
        out.append(f"{outcome.status:<10} [{outcome.check_id}] {outcome.title}")
        out += [f"           {line}" for line in outcome.done]
    if not any(o.status == CHANGED for o in outcomes):
        out.append("Nothing changed: the host already has everything apply can do here.")
    return "\n".join(out) + "\n"
