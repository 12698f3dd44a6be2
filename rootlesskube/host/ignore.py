"""A way past a check a person knows better about, as kubeadm's --ignore-preflight-errors.

`up` and `run` take `--ignore-checks ID[,ID...]|all`, a recipe `doctor: {ignore: [ID, ...]}`.
Only failures are ignored (a warning never blocks); an ignored failure stays in every
report, marked ignored, and the run says so at the end. An id the doctor does not have
for the driver is a usage error, so a typo never ignores nothing silently.
"""

from __future__ import annotations

import re
from typing import Any, List, Sequence, Tuple

from ..errors import UsageError

ALL = "all"
_ID = re.compile(r"[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*")  # cgroup.v2, module.ip_tables, tool.podman-compose
LIST_HINT = "`rootlesskube doctor --driver DRIVER` lists every check by id; `all` ignores every failure"


def parse(text: str, where: str = "--ignore-checks") -> Tuple[str, ...]:
    """`ID,ID,...` or `all` as typed on the command line."""
    return syntax([item.strip().lower() for item in text.split(",")], where)


def syntax(items: Sequence[str], where: str) -> Tuple[str, ...]:
    """The ids, once each, in order; UsageError for one that is not an id, or `all` with others."""
    for item in items:
        if not _ID.fullmatch(item):
            raise UsageError(f"{where}: {item!r} is not a check id", hint=LIST_HINT)
    if ALL in items and len(set(items)) > 1:
        raise UsageError(f"{where}: `all` ignores every failing check; it is not listed with others",
                         hint="give `all` alone, or only the ids to ignore")
    return tuple(dict.fromkeys(items))


def known_ids(driver: str) -> List[str]:
    """Every check id the doctor reports for DRIVER, in the report's order."""
    from types import SimpleNamespace

    from .doctor import CHECK_GROUPS
    from .requirements import for_driver

    ctx = SimpleNamespace(req=for_driver(driver), driver=driver)
    return [check_id for check in CHECK_GROUPS for check_id in check.produces(ctx)]


def validate(ignore: Sequence[str], driver: str, where: str = "--ignore-checks") -> Tuple[str, ...]:
    """The ids, checked against the doctor's checks for DRIVER; UsageError naming the first unknown one."""
    ignore = syntax(list(ignore), where)
    if ALL in ignore:
        return ignore
    known = known_ids(driver)
    for item in ignore:
        if item not in known:
            close = [k for k in known if k.split(".")[-1] == item.split(".")[-1] or k.startswith(item)]
            raise UsageError(f"{where}: the doctor has no check {item!r} for the {driver} driver",
                             hint=(f"did you mean {', '.join(close)}? " if close else "") + LIST_HINT)
    return ignore


def ignores(ignore: Sequence[str], check_id: str) -> bool:
    return ALL in ignore or check_id in ignore


def split(checks: Sequence[Any], ignore: Sequence[str]) -> Tuple[List[Any], List[Any]]:
    """The failing checks: (those that block, those ignored)."""
    failing = [c for c in checks if c.status == "fail"]
    return ([c for c in failing if not ignores(ignore, c.id)], [c for c in failing if ignores(ignore, c.id)])


def summary(ignored_ids: Sequence[str], source: str) -> str:
    """The line a run ends with when it went past failing checks."""
    return (f"{len(ignored_ids)} failing doctor check(s) ignored ({source}): {', '.join(ignored_ids)}; "
            "the host is not ready by the doctor's measure")
