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
from ..run import CommandError, run, which

MINIMUM = (1, 0, 6)  # 1.0.3 (Debian 12) fails on Usernetes' compose file: "missing networks: default"
INSTALL_HINT = "run `rootlesskube tools install podman-compose` (a pinned podman-compose in rootlesskube's data directory)"
# 1.0.6 and later print "podman-compose version 1.6.0"; 1.0.3 prints "podman-composer version  1.0.3"
_VERSION_LINE = re.compile(r"^podman-composer? version\s+(\d+)\.(\d+)\.(\d+)\S*\s*$", re.MULTILINE)
_NORM = re.compile(r"[^-_a-z0-9]")


def project_name(checkout: Path) -> str:
    """podman-compose's project name for a checkout folder (its real path's basename)."""
    return _NORM.sub("", Path(checkout).resolve().name.lower())


def node_container(checkout: Path) -> str:
    """The node service's container: <project>_node_1 (podman-compose's `_` separator)."""
    return f"{project_name(checkout)}_node_1"


def parse_version(text: str) -> Optional[Tuple[int, int, int]]:
    match = _VERSION_LINE.search(text)
    return tuple(int(g) for g in match.groups()) if match else None  # type: ignore[return-value]


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
        found, needed = ".".join(map(str, version)), ".".join(map(str, MINIMUM))
        raise HostNotReady(f"{path} is podman-compose {found}; Usernetes needs {needed} or newer "
                           f"({found} cannot parse Usernetes' docker-compose.yaml)", hint=INSTALL_HINT)
    return path
