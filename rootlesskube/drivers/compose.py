"""podman-compose as Usernetes runs it: which program, which version, which project name.

Usernetes' Makefile runs `$(COMPOSE)` (`COMPOSE ?=` podman-compose for Podman,
Makefile.d/detect-container-engine.sh @9658658); make runs such a recipe line
directly, not through a shell, so a missing program only shows as make's own
error after the preflight has run. rootlesskube finds the program first
(tools.binary: data_dir()/bin before PATH), asks its version and hands make
the absolute path as COMPOSE.

The project name (and so every container name) comes from the checkout's
folder: podman_compose.py lower-cases the real path's basename and removes
every character outside [-_a-z0-9] (`norm_re`; v1.0.3 @24ec539, v1.0.6
@f6dbce3, v1.6.0 @0f6537e), unless COMPOSE_PROJECT_NAME or a top-level
`name:` says otherwise (Usernetes' docker-compose.yaml has none).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Tuple

from .. import tools
from ..errors import HostNotReady, RootlesskubeError
from ..host.check_tools import MIN_TOOL
from ..host.context import VERSION_LINE, version_tuple
from ..run import CommandError, run, which

# the doctor's minimum and its reason (1.0.3, Debian 12's, fails on Usernetes' compose file)
MINIMUM_TEXT, TOO_OLD_WHY = MIN_TOOL["podman-compose"]
MINIMUM = version_tuple(MINIMUM_TEXT)
INSTALL_HINT = "run `rootlesskube tools install podman-compose` (a pinned podman-compose in rootlesskube's data directory)"
_NORM = re.compile(r"[^-_a-z0-9]")


def project_name(checkout: Path) -> str:
    """podman-compose's project name for a checkout folder (its real path's basename)."""
    return _NORM.sub("", Path(checkout).resolve().name.lower())


def node_container(checkout: Path) -> str:
    """The node service's container: <project>_node_1 (podman-compose's `_` separator)."""
    return f"{project_name(checkout)}_node_1"


def parse_version(text: str) -> Optional[Tuple[int, ...]]:
    """podman-compose's own version line, as the doctor reads it (1.0.3 prints podman's version first)."""
    match = VERSION_LINE["podman-compose"].search(text)
    return version_tuple(match.group(1)) if match else None


def find() -> str:
    """The absolute path of a podman-compose new enough for Usernetes; HostNotReady (exit 3) otherwise."""
    program = tools.binary("podman-compose")
    path = program if "/" in program else which(program)
    if path is None:
        raise HostNotReady("podman-compose is not installed; Usernetes runs it for every make target",
                           hint=INSTALL_HINT)
    try:
        result = run([path, "version"], timeout=60)
    except CommandError as exc:
        raise RootlesskubeError(f"`{path} version` failed: {exc.stderr.strip() or exc}", hint=INSTALL_HINT) from None
    version = parse_version(result.stdout)
    if version is None:
        raise RootlesskubeError(f"could not read the version of {path} from `podman-compose version`",
                                hint=INSTALL_HINT)
    if version < MINIMUM:
        found = ".".join(map(str, version))
        raise HostNotReady(f"{path} is podman-compose {found}; Usernetes needs {MINIMUM_TEXT} or newer "
                           f"({TOO_OLD_WHY})", hint=INSTALL_HINT)
    return path
