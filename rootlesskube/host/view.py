"""HostView: every host file is read through one object rooted at "/".

Tests and `doctor --host-root DIR` point it at a fixture tree or a mounted
image. `live` tells whether the view is the running host, i.e. whether checks
that need a live process or command may run.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import List, Optional

_MISSING = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EBADF)  # what Path.exists() calls missing


class HostReadError(Exception):
    """A host file exists but cannot be read; carries the path for the message."""

    def __init__(self, path: str, reason: str, code: Optional[int] = None):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.errno = code  # EACCES: a permission, not a broken file

    @property
    def denied(self) -> bool:
        return self.errno in (errno.EACCES, errno.EPERM)


class HostView:
    def __init__(self, root: str = "/"):
        self.root = Path(root)
        self.live = os.path.realpath(root) == "/"

    def path(self, host_path: str) -> Path:
        """The real path of an absolute host path inside this view."""
        return self.root / host_path.lstrip("/")

    def exists(self, host_path: str) -> bool:
        """False when missing; HostReadError when a directory on the way cannot be searched."""
        try:
            os.stat(self.path(host_path))
        except OSError as exc:
            if exc.errno in _MISSING:
                return False
            raise HostReadError(host_path, exc.strerror or str(exc), exc.errno) from None
        return True

    def read(self, host_path: str) -> Optional[str]:
        """The file's text, None when it does not exist; HostReadError when unreadable."""
        try:
            if not self.live:  # an image or fixture tree: any file may be a FIFO, a device or huge
                from .readers import read_bounded

                return read_bounded(self.path(host_path), host_path)
            return self.path(host_path).read_text(errors="replace")
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None
        except OSError as exc:
            raise HostReadError(host_path, exc.strerror or str(exc), exc.errno) from None

    def read_bytes(self, host_path: str) -> Optional[bytes]:
        """The file's bytes, None when it does not exist; HostReadError when unreadable."""
        path = self.path(host_path)
        try:
            if not self.live and path.exists() and not path.is_file():  # an image's FIFO or device: never read
                raise HostReadError(host_path, "not a regular file")
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise HostReadError(host_path, exc.strerror or str(exc), exc.errno) from None

    def read_first_line(self, host_path: str) -> Optional[str]:
        text = self.read(host_path)
        return None if text is None else (text.splitlines() or [""])[0].strip()

    def listdir(self, host_path: str) -> List[str]:
        try:
            return sorted(os.listdir(self.path(host_path)))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise HostReadError(host_path, exc.strerror or str(exc), exc.errno) from None

    def stat(self, host_path: str) -> Optional[os.stat_result]:
        try:
            return os.stat(self.path(host_path))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def sysctl(self, name: str) -> Optional[str]:
        """A sysctl's value from /proc/sys (dots become slashes)."""
        return self.read_first_line("/proc/sys/" + name.replace(".", "/"))
