"""The running kernel's build configuration, from the places a normal user can read it.

/proc/config.gz (the kernel's own copy, CONFIG_IKCONFIG_PROC, mode 0444) first, else
/boot/config-RELEASE (Debian and Fedora: 0644; Ubuntu: 0600, which only root can read).
`=y` is built in, `=m` a loadable module, a symbol that is absent or `# ... is not set`
is not in this kernel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .view import HostReadError, HostView

PROC_CONFIG = "/proc/config.gz"
_SETTING = re.compile(r"^(CONFIG_\w+)=(\S+)", re.MULTILINE)


@dataclass
class KernelConfig:
    path: Optional[str] = None  # where it was read; None when no config could be read
    values: Dict[str, str] = field(default_factory=dict)
    unreadable: List[Tuple[str, str]] = field(default_factory=list)  # (path, reason) of configs that exist

    def get(self, symbol: str) -> Optional[str]:
        """"y", "m" (or another value), None when the symbol is not set; only meaningful when `path` is set."""
        return self.values.get(symbol)


def candidates(release: Optional[str]) -> List[str]:
    return [PROC_CONFIG] + ([f"/boot/config-{release}"] if release else [])


def read(view: HostView, release: Optional[str]) -> KernelConfig:
    """The first readable config of the running kernel; those that exist but cannot be read are listed."""
    config = KernelConfig()
    for path in candidates(release):
        try:
            data = view.read_bytes(path)
        except HostReadError as exc:
            config.unreadable.append((path, exc.reason))
            continue
        if data is None:
            continue
        text, problem = _text(path, data)
        if text is None:
            config.unreadable.append((path, problem))
            continue
        config.path, config.values = path, dict(_SETTING.findall(text))
        return config
    return config


def _text(path: str, data: bytes) -> Tuple[Optional[str], str]:
    if not path.endswith(".gz"):
        return data.decode(errors="replace"), ""
    import zlib  # the gzip module costs an import of its own; zlib reads the gzip wrapper (wbits 16+)

    try:
        return zlib.decompress(data, 16 + zlib.MAX_WBITS).decode(errors="replace"), ""
    except zlib.error as exc:
        return None, f"not gzip data ({exc})"
