"""Layer progress of an image copy (`podman pull`, `podman load`), read from podman's own lines.

Not on a terminal, podman (containers/image) prints one `Copying blob DIGEST` line as each layer
starts and `Copying config DIGEST` once every layer is in (tests/contracts/podman/
load.docker-archive.stderr.txt); it gives no byte counts. So progress is counted in layers: a layer
is done when the next one (or the config) starts. The total is known for a docker-archive (its
manifest.json lists the layers); for a pull it is not, and the display shows the count alone.
"""

from __future__ import annotations

import tarfile
from typing import Optional

from . import ui

_MANIFEST_LIMIT = 1024 * 1024


class CopyProgress:
    """An `on_line(stream, line)` callback for run(): feeds ui.progress_count with layers done."""

    def __init__(self, total: Optional[int] = None, chained=None):
        import threading

        self.total, self.chained = total, chained
        self.owner = threading.get_ident()  # made by the thread that runs the copy
        self.started = 0
        self.done = 0

    def __call__(self, stream: str, line: str) -> None:
        text = line.strip()
        if text.startswith("Copying blob "):
            self.done = self.started
            self.started += 1
        elif text.startswith("Copying config "):
            self.done = self.started
        else:
            text = ""
        if text:
            total = self.total if self.total and self.total >= self.started else None
            ui.progress_count(self.done, total, "layers", self.owner)
        if self.chained is not None:
            self.chained(stream, line)


def archive_layers(path: str) -> Optional[int]:
    """How many layers a docker-archive holds (its manifest.json), None when it cannot be told."""
    from . import inputs

    try:
        with tarfile.open(path, "r:") as archive:
            member = archive.getmember("manifest.json")
            if not member.isfile() or member.size > _MANIFEST_LIMIT:
                return None
            handle = archive.extractfile(member)
            manifest = inputs.load_json(handle.read().decode("utf-8"), "manifest.json") if handle else None
    except (OSError, KeyError, tarfile.TarError, UnicodeDecodeError, inputs.InputError):
        return None
    if not isinstance(manifest, list):
        return None
    layers = [m.get("Layers") for m in manifest if isinstance(m, dict)]
    if not layers or not all(isinstance(entry, list) for entry in layers):
        return None
    return sum(len(entry) for entry in layers)
