"""The node containers of a cluster as rootless Podman sees them: name -> state.

Every driver's nodes are containers of the user's Podman, found by the labels
their tool puts on them. `podman ps --all --format json` gives each
container's `Names` and `State` ("running", "exited", "created", "paused",
"stopped"...: contracts/podman/ps-a.kind.json). Whether a node runs is asked
of Podman, not of the API server: a stopped node has no API server to ask.
"""

from __future__ import annotations

import re
from typing import Dict, Optional

RUNNING = "running"


def states(label: str, value: Optional[str] = None, names: Optional[str] = None) -> Dict[str, str]:
    """{container name: state} of the user's containers with LABEL[=VALUE] (names: a regex they fullmatch)."""
    from ..podman import Podman

    found: Dict[str, str] = {}
    for container in Podman().ps(labels={label: value or ""}, all=True):
        container_names = container.get("Names") or []
        name = container_names[0] if container_names else str(container.get("Id", ""))[:12]
        if names is not None and not re.fullmatch(names, name):
            continue
        found[name] = str(container.get("State", "")).lower()
    return dict(sorted(found.items()))


def summary(node_states: Dict[str, str]) -> str:
    """running (every node runs), stopped (none does), degraded (some do), missing (no container)."""
    if not node_states:
        return "missing"
    running = [s == RUNNING for s in node_states.values()]
    return "running" if all(running) else "stopped" if not any(running) else "degraded"
