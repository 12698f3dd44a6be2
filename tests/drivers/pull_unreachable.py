"""Run as the unprivileged test user: `up` (kind stand-in) with an image that real Podman cannot pull.

Prints the exit code and the error the CLI boundary would print.
"""

from __future__ import annotations

import sys

from rootlesskube import cluster, ui
from rootlesskube.drivers.base import ClusterSpec
from rootlesskube.errors import RootlesskubeError
from tests.drivers.passing_doctor import passing


def main() -> int:
    cluster.DOCTOR = passing
    options = cluster.UpOptions(images=[sys.argv[2]], pull_timeout=float(sys.argv[3]))
    try:
        cluster.up(ClusterSpec(sys.argv[1]), options)
    except RootlesskubeError as exc:
        ui.error(str(exc), exc.hint)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
