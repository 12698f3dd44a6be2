"""Where the tool keeps its files, and how it writes private ones.

State (kubeconfigs, what clusters this user created) lives under
$XDG_STATE_HOME/rootlesskube, downloaded tools and checkouts under
$XDG_DATA_HOME/rootlesskube, what can be found again under $XDG_CACHE_HOME/rootlesskube.
ROOTLESSKUBE_HOME overrides them all (tests, CI).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

from .errors import RootlesskubeError

PathLike = Union[str, Path]


def _base(xdg_var: str, default: str, leaf: str) -> Path:
    override = os.environ.get("ROOTLESSKUBE_HOME")
    if override:
        return Path(override) / leaf
    root = os.environ.get(xdg_var) or str(Path.home() / default)
    return Path(root) / "rootlesskube"


def state_dir() -> Path:
    return _base("XDG_STATE_HOME", ".local/state", "state")


def data_dir() -> Path:
    return _base("XDG_DATA_HOME", ".local/share", "data")


def cache_dir() -> Path:
    """What can be thrown away and found again (tool versions)."""
    return _base("XDG_CACHE_HOME", ".cache", "cache")


def private_dir(path: PathLike) -> Path:
    """Create path (and parents) with mode 0700 for the leaf."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_private(path: PathLike, content: Union[str, bytes]) -> Path:
    """Atomically write a file that only its owner can read (mode 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def exclusive_lock(path: PathLike, what: str, wait: bool = False) -> Iterator[None]:
    """Hold an flock on path; without `wait`, fail at once if another run holds it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError:
            raise RootlesskubeError(
                f"another rootlesskube run is already working on {what} (lock {path})",
                hint="wait for it to finish, then run this again",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
