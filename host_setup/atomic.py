"""Atomic edits of system files: a crash or kill at any point leaves the old file or the new one.

replace_file(path, expected, new_text): under an flock on a lock file beside
the target, re-read the target and refuse if it changed since the plan was
made; write a temporary file in the same directory with the target's mode and
owner, fsync it, keep a timestamped backup of the old file, rename the
temporary file over the target, fsync the directory. Lines the tool does not
own are the caller's business (content.py keeps them byte for byte).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

from rootlesskube.errors import RootlesskubeError

TEMP_MARK = ".rk-tmp-"
CHUNK = 4096

# Tests set this to pause or die at a named point ("partial-write",
# "before-rename", "after-rename") of the write of a path, to prove the crash guarantees.
_hook: Optional[Callable[[str, Path], None]] = None


@dataclass(frozen=True)
class Written:
    path: str
    changed: bool
    backup: Optional[str] = None


class ChangedSincePlan(RootlesskubeError):
    pass


def _point(name: str, path: Path) -> None:
    if _hook is not None:
        _hook(name, path)


def lock_path(path: Path) -> Path:
    # Not "<file>.lock": shadow-utils uses /etc/subuid.lock with its own protocol.
    return path.with_name(f".{path.name}.rootlesskube-lock")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on the lock file beside path (waits for other runs)."""
    with open(lock_path(path), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_text(path: Path) -> Optional[str]:
    try:
        return path.read_bytes().decode("utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return None


def replace_file(
    path: Path,
    expected: Optional[str],
    new_text: str,
    mode: int = 0o644,
    now: Optional[datetime.datetime] = None,
) -> Written:
    """Replace path's content with new_text if it still is `expected` (None: absent).

    Returns whether anything changed and where the backup of the old file is.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        _remove_stale_temps(path)
        current = read_text(path)
        if current == new_text:
            return Written(str(path), False)
        if current != expected:
            raise ChangedSincePlan(
                f"{path} changed after the plan was made; nothing was written to it",
                hint="run the command again; it plans from the file as it is now",
            )
        backup = _backup(path, now) if current is not None else None
        _write_and_rename(path, new_text.encode("utf-8", errors="surrogateescape"), mode)
        return Written(str(path), True, str(backup) if backup else None)


def _remove_stale_temps(path: Path) -> None:
    """Temporary files of a run that was killed (we hold the lock: none is in use)."""
    for stale in path.parent.glob(f".{path.name}{TEMP_MARK}*"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


def _backup(path: Path, now: Optional[datetime.datetime]) -> Path:
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%dT%H%M%S")
    backup = path.with_name(f"{path.name}.rootlesskube-{stamp}.bak")
    number = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.rootlesskube-{stamp}-{number}.bak")
        number += 1
    _write_and_rename(backup, path.read_bytes(), None, like=path)
    return backup


def _write_and_rename(path: Path, data: bytes, mode: Optional[int], like: Optional[Path] = None) -> None:
    """Write data to a temporary file beside path, fsync, rename over path, fsync the directory."""
    reference = like or path
    try:
        st = os.stat(reference)
        mode, uid, gid = st.st_mode & 0o7777, st.st_uid, st.st_gid
    except FileNotFoundError:
        uid = gid = None
    tmp = path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode if mode is not None else 0o644)
            if uid is not None and (uid, gid) != (os.geteuid(), os.getegid()):
                os.fchown(handle.fileno(), uid, gid)
            for offset in range(0, len(data), CHUNK):
                handle.write(data[offset:offset + CHUNK])
                handle.flush()
                if offset == 0:
                    _point("partial-write", path)
            handle.flush()
            os.fsync(handle.fileno())
        _point("before-rename", path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _point("after-rename", path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
