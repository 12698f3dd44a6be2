"""Progress of an image copy: layers from podman's own lines (`podman pull`, `podman save`, `podman load`),
and bytes of an archive read by a tool that prints nothing while it loads one (ReadProgress).

Not on a terminal, podman (containers/image) prints one `Copying blob DIGEST` line as each layer
starts and `Copying config DIGEST` once every layer is in (tests/contracts/podman/
load.docker-archive.stderr.txt); it gives no byte counts. So progress is counted in layers: a layer
is done when the next one (or the config) starts. The total is known for a docker-archive (its
manifest.json lists the layers); for a pull it is not, and the display shows the count alone.
"""

from __future__ import annotations

import os
import tarfile
import threading
from typing import Optional

from . import ui

_MANIFEST_LIMIT = 1024 * 1024
_MIB = 1024 * 1024
_shown_in = threading.local()


def _owner() -> int:
    """The thread whose running step shows the progress: this one, unless shown_in() names another."""
    return getattr(_shown_in, "thread", None) or threading.get_ident()


class shown_in:
    """Within this block, copies started by this (worker) thread show in `thread`'s step: `pmm deploy`
    gets the image in a worker while its main thread waits in the step "load the image"."""

    def __init__(self, thread: int):
        self.thread = thread

    def __enter__(self) -> None:
        self.previous = getattr(_shown_in, "thread", None)
        _shown_in.thread = self.thread

    def __exit__(self, *exc) -> None:
        _shown_in.thread = self.previous


class CopyProgress:
    """An `on_line(stream, line)` callback for run(): feeds ui.progress_count with layers done."""

    def __init__(self, total: Optional[int] = None, chained=None):
        self.total, self.chained = total, chained
        self.owner = _owner()  # the thread that runs the copy, or the one shown_in() names
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


class ReadProgress:
    """While a tool loads an archive into the nodes, how far it has read it, as a bar of MiB.

    `kind load image-archive` streams the file into `ctr images import` and logs nothing below -v 2
    (kubernetes-sigs/kind pkg/cmd/kind/load/image-archive/image-archive.go, loadImage, at fed26882);
    `minikube image load FILE` copies it into the node logging only to its log file (kubernetes/minikube
    cmd/minikube/cmd/image.go at 02b4267f, pkg/minikube/machine/cache_images.go transferAndLoadImage);
    `podman cp` prints nothing. What moves is the file offset of the tool's open archive, which psutil
    reads from /proc/PID/fdinfo for this process's descendants (checked with rootless podman 4.3.1's
    `podman cp` as an unprivileged user: 0 then 39 of 64 MiB). Used as a context manager around the
    command; on a plain output (CI, NO_COLOR, not a terminal) it does nothing.
    """

    def __init__(self, archive, interval: float = 0.5):
        self.path = os.path.realpath(archive)
        self.interval = interval
        self.owner = _owner()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> "ReadProgress":
        if not ui.plain():
            self._thread = threading.Thread(target=self._poll, name="read-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def position(self) -> Optional[int]:
        """The offset of the slowest reader of the archive among this process's descendants (kind reads
        it once per node), None when none has it open."""
        import psutil

        offsets = []
        for proc in psutil.Process().children(recursive=True):
            try:
                offsets += [f.position for f in proc.open_files() if f.path == self.path]
            except psutil.Error:  # gone, or not ours to read
                continue
        return min(offsets) if offsets else None

    def _poll(self) -> None:
        try:
            total = max(1, -(-os.path.getsize(self.path) // _MIB))
        except OSError:
            return
        while not self._stop.wait(self.interval):
            offset = self.position()
            if offset is not None:
                ui.progress_count(min(offset // _MIB, total), total, "MiB", self.owner)
