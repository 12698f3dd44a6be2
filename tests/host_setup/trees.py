"""Small fixture host trees for plan/apply unit tests."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

from rootlesskube.host.model import FAIL, CheckResult
from rootlesskube.host.view import HostView

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
FEDORA = 'NAME="Fedora Linux"\nVERSION_ID=40\nID=fedora\n'


def tree(root: Path, files: Optional[Dict[str, str]] = None, os_release: str = DEBIAN) -> HostView:
    base = {"/etc/os-release": os_release, "/proc/sys/kernel/osrelease": "6.1.0-test\n",
            "/dev/net/tun": "", "/usr/sbin/usermod": ""}
    for host_path, text in {**base, **(files or {})}.items():
        if text is None:
            continue
        path = root / host_path.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for host_path, text in (files or {}).items():
        if text is None:
            (root / host_path.lstrip("/")).unlink(missing_ok=True)
    return HostView(str(root))


def failing(*check_ids: str):
    return [CheckResult(i, FAIL, f"title of {i}", "detail", f"fix of {i}") for i in check_ids]
