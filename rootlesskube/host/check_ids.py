"""Subordinate ids (/etc/subuid, /etc/subgid) and the setuid helpers that map them."""

from __future__ import annotations

import os
import stat
from typing import List

from . import fixes, ids, subids, users
from .context import Context, produces
from .model import FAIL, PASS, WARN, CheckResult


def _check_file(ctx: Context, check_id: str, host_path: str, own_id: int) -> CheckResult:
    user = ctx.user.name
    title = f"Subordinate ids in {host_path}"
    text = ctx.view.read(host_path)
    if text is None:
        return CheckResult(check_id, FAIL, title, f"{host_path} does not exist",
                           fixes.subids(user, subids.START_FLOOR, subids.MIN_COUNT))
    entries, problems = subids.parse(text, host_path)
    mine = subids.entries_for(entries, user, ctx.user.uid)
    real = users.real_ids(ctx.view)
    new_range = fixes.subids(user, subids.free_range(entries, subids.MIN_COUNT, real_ids=real), subids.MIN_COUNT)
    garbage = _garbage(problems)
    if not mine:
        return CheckResult(check_id, FAIL, title,
                           f"no entry for {user} (by name or uid {ctx.user.uid}) in {host_path}{garbage}", new_range)
    shown = ", ".join(f"{e.start}-{e.end - 1} ({e.count} ids, line {e.line_no})" for e in mine)
    total = sum(e.count for e in mine)
    wrong: List[str] = []
    if total < subids.MIN_COUNT:
        wrong.append(f"only {total} ids, at least {subids.MIN_COUNT} are needed")
    for entry in mine:
        if entry.intersects(0, subids.UID_CEILING) or entry.intersects(own_id, own_id + 1):
            wrong.append(f"line {entry.line_no} overlaps real ids (below {subids.UID_CEILING} or {own_id} itself)")
        elif subids.real_ids_inside(entry, real):
            inside = subids.real_ids_inside(entry, real)
            wrong.append(f"line {entry.line_no} contains real ids: {', '.join(real[i] for i in inside[:3])}"
                         + (f" and {len(inside) - 3} more" if len(inside) > 3 else "") + " (/etc/passwd, /etc/group)")
    for first, second in subids.overlaps(entries):
        if (first in mine) != (second in mine):
            other = second if first in mine else first
            wrong.append(f"line {(first if first in mine else second).line_no} overlaps {other.owner}'s range "
                         f"on line {other.line_no}")
    detail = f"{host_path}: {user} has {shown}"
    if wrong:
        return CheckResult(check_id, FAIL, title, f"{detail}; " + "; ".join(wrong) + garbage,
                           f"remove {user}'s lines from {host_path}, then:\n{new_range}")
    if problems:
        return CheckResult(check_id, WARN, title, detail + garbage,
                           f"as root: correct or delete the lines named above in {host_path} "
                           "(each line is OWNER:START:COUNT)")
    return CheckResult(check_id, PASS, title, detail)


SHOWN_PROBLEMS = 3


def _garbage(problems: List[str]) -> str:
    """The first few bad lines for the detail (a garbage file of a million lines stays one short line)."""
    if not problems:
        return ""
    more = len(problems) - SHOWN_PROBLEMS
    shown = [p if len(p) <= 200 else p[:197] + "..." for p in problems[:SHOWN_PROBLEMS]]  # one huge line, too
    return "; " + "; ".join(shown) + (f"; and {more} more bad lines" if more > 0 else "")


@produces(ids.SUBUID)
def check_subuid(ctx: Context) -> CheckResult:
    return _check_file(ctx, ids.SUBUID, "/etc/subuid", ctx.user.uid)


@produces(ids.SUBGID)
def check_subgid(ctx: Context) -> CheckResult:
    return _check_file(ctx, ids.SUBGID, "/etc/subgid", ctx.user.gid)


def _check_helper(ctx: Context, check_id: str, program: str, capability: str) -> CheckResult:
    title = f"{program} (setuid helper for the id mapping)"
    path = ctx.find(program)
    reinstall = fixes.install(ctx.distro, ["newuidmap"])
    if path is None:
        return CheckResult(check_id, FAIL, title, f"{program} is not installed (looked on "
                           f"{'PATH' if ctx.view.live else 'the usual bin directories'})", reinstall)
    info = ctx.view.stat(path)
    if info is None:
        return CheckResult(check_id, FAIL, title, f"{path} cannot be read", reinstall)
    mode = stat.filemode(info.st_mode)
    if info.st_mode & stat.S_ISUID and info.st_uid == 0:
        return CheckResult(check_id, PASS, title, f"{path}: {mode}, owner root (setuid)")
    try:
        os.getxattr(ctx.view.path(path), "security.capability")
        return CheckResult(check_id, PASS, title, f"{path}: {mode}, file capabilities set")
    except OSError:
        pass
    return CheckResult(check_id, FAIL, title,
                       f"{path}: {mode}, owner uid {info.st_uid}: neither setuid root nor file capabilities",
                       fixes.as_root([f"chown root {path}", f"chmod u+s {path}"],
                                     f"or give it the capability: setcap {capability}+ep {path}; "
                                     "or reinstall the package", host_setup=False))


@produces(ids.NEWUIDMAP)
def check_newuidmap(ctx: Context) -> CheckResult:
    return _check_helper(ctx, ids.NEWUIDMAP, "newuidmap", "cap_setuid")


@produces(ids.NEWGIDMAP)
def check_newgidmap(ctx: Context) -> CheckResult:
    return _check_helper(ctx, ids.NEWGIDMAP, "newgidmap", "cap_setgid")


CHECKS = [check_subuid, check_subgid, check_newuidmap, check_newgidmap]
