"""Tool versions remembered per binary file, so that doctor asks each tool once.

`kubectl version` starts a Go program, about 40 ms of CPU that competes with
`podman info` on every doctor run; a binary's version changes only when the
file does. So the answer is kept in the cache directory, keyed by the file's
real path and its inode, size and modification time. A cache that cannot be
read or written is ignored: the tool is asked again.
"""

from __future__ import annotations

import json
import os
from typing import List, Optional

from .. import paths


def _cache_file():
    return paths.cache_dir() / "tool-versions.json"


def _identity(path: str) -> Optional[List[int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _known() -> dict:
    try:
        known = json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def cached(path: str) -> Optional[str]:
    """The version remembered for this very file, or None."""
    entry = _known().get(os.path.realpath(path))
    identity = _identity(path)
    if isinstance(entry, dict) and identity is not None and entry.get("file") == identity:
        version = entry.get("version")
        return version if isinstance(version, str) else None
    return None


def remember(path: str, version: str) -> None:
    identity = _identity(path)
    if identity is None:
        return
    known = _known()
    known[os.path.realpath(path)] = {"file": identity, "version": version}
    try:
        paths.write_private(_cache_file(), json.dumps(known, indent=1, sort_keys=True))
    except OSError:
        pass  # a cache we cannot write only costs the next run a question
