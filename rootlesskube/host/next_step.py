"""The one command to run next when the doctor fails (the last lines of its report).

Root's part comes first: when a failing check's fix names host_setup's apply, the
next command is that apply, with every switch those fixes ask for. Otherwise it
is the first command of the first failing check's fix.
"""

from __future__ import annotations

import os
from typing import List, Sequence, Tuple

from .fixes import HOST_SETUP, ROOT_INSTALL, ROOT_LINK
from .model import FAIL, CheckResult

COMMENT = "   ("  # fixes put a remark after a command behind three spaces and a parenthesis


def _command(line: str) -> str:
    return line.split(COMMENT, 1)[0].strip()


def _first_command(fix: str) -> Tuple[str, str]:
    """(who, command): 'as root:' / 'as the user:' name who runs it; the command is after the colon or below."""
    lines = [line.strip() for line in fix.splitlines() if line.strip()]
    for who in ("as root:", "as the user:"):
        if lines[0].startswith(who):
            rest = _command(lines[0][len(who):])
            return who[:-1], rest or (_command(lines[1]) if len(lines) > 1 else "")
    return "", _command(lines[0])


def next_lines(checks: Sequence[CheckResult], host_root: str = "/") -> List[str]:
    failing = [c for c in checks if c.status == FAIL]
    if not failing:
        return []
    root_side = [c for c in failing if c.fix and HOST_SETUP in c.fix]
    if root_side:
        switches: List[str] = []
        for check in root_side:
            line = next(ln for ln in check.fix.splitlines() if HOST_SETUP in ln)
            for word in _command(line)[len(HOST_SETUP):].split():
                if word not in switches:
                    switches.append(word)
        lines = []
        if host_root == "/" and not os.path.exists(ROOT_LINK):
            lines.append(f"{ROOT_LINK} is not installed yet: install the root part root-owned first, "
                         f"in the checkout: {ROOT_INSTALL}")
        lines.append(f"next: {' '.join([HOST_SETUP, *switches])}   "
                     f"(root's part: {', '.join(c.id for c in root_side)}; `plan` instead of `apply` shows it first)")
        return lines
    first = next((c for c in failing if c.fix), None)
    if first is None:
        return [f"next: see why {failing[0].id} fails above"]
    who, command = _first_command(first.fix)
    return [f"next{', ' + who if who == 'as root' else ''}: {command}   "
            f"(fixes {first.id}; then run `rootlesskube doctor` again)"]
