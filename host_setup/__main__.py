"""`rootlesskube-host-setup` / `python -m host_setup`: the root-only host preparation."""

from __future__ import annotations

import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> None:
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(args: List[str]) -> int:
    from rootlesskube.__main__ import guarded

    from .cli import PROG, HostSetup

    return guarded(HostSetup, PROG, args)


if __name__ == "__main__":
    main()
