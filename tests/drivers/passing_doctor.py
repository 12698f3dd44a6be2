"""A doctor that passes, for stand-in tests (this machine is not ready: hybrid cgroups).

`python3 -m tests.drivers.passing_doctor ARGS` runs the CLI with it, for tests
that need a real process (signals) and for the benchmark.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import List

from rootlesskube.host.model import PASS, CheckResult


@dataclass
class Report:
    checks: List[CheckResult] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def as_dict(self) -> dict:
        return {"ready": self.ready, "checks": [c.as_dict() for c in self.checks]}


def passing(driver: str) -> Report:
    return Report([CheckResult("cgroup.v2", PASS, "cgroup v2 is mounted", "stand-in host"),
                   CheckResult(f"tool.{driver}", PASS, f"{driver} is installed", "stand-in")])


def main() -> None:
    from rootlesskube import cluster
    from rootlesskube.__main__ import main as cli_main

    cluster.DOCTOR = passing
    cli_main(sys.argv[1:])


if __name__ == "__main__":
    main()
