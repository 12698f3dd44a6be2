"""An image load shows a bar on a terminal (issue 17): MiB of the archive read while kind, minikube
or `podman cp` load it (they print nothing), layers while `podman save` writes it (podman's lines)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from rootlesskube import image_progress, ui
from rootlesskube.image_progress import CopyProgress, ReadProgress

PODMAN_SAVE = Path(__file__).resolve().parents[1] / "contracts" / "podman" / "save.docker-archive.stderr.txt"
MIB = 1024 * 1024

# Reads the archive as `kind load image-archive` does, printing nothing: kind opens the file and streams
# it into `ctr images import` in each node, and logs only at -v 2 (kubernetes-sigs/kind
# pkg/cmd/kind/load/image-archive/image-archive.go, loadImage, and pkg/cluster/nodeutils/util.go,
# LoadImageArchive, at commit fed268827e21ca48a74c38215c316dd343364ef5).
SLOW_READER = ("import sys, time\n"
               "path = [a for a in sys.argv[1:] if a.endswith('.tar')][0]\n"
               "with open(path, 'rb') as f:\n"
               "    while f.read(1024 * 1024):\n"
               "        time.sleep(0.25)\n")


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "pmm-server.tar"
    path.write_bytes(b"\0" * (4 * MIB))
    return path


@pytest.fixture
def silent_tool(tmp_path, monkeypatch):
    """`kind`, `minikube`: programs that read the archive slowly and print nothing (see SLOW_READER)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("kind", "minikube"):
        script = bin_dir / name
        script.write_text(f"#!{sys.executable}\n{SLOW_READER}")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return bin_dir


def _mib_counts(out: str):
    import re

    return sorted({int(m) for m in re.findall(r"(\d+)/4 MiB", out)})


def test_read_progress_follows_the_readers_file_offset(terminal, archive):
    from rootlesskube.run import run

    with ui.step("load the image into kind"):
        with ReadProgress(archive, interval=0.1):
            run([sys.executable, "-c", SLOW_READER, str(archive)], timeout=30)
    counts = _mib_counts(terminal.getvalue())
    assert len(counts) >= 2 and counts[0] <= 1 and counts[-1] >= 3, counts  # it moved, 1 MiB each 0.25 s


def test_read_progress_is_silent_in_plain_output(monkeypatch, archive):
    monkeypatch.setattr(ui, "plain", lambda: True)
    with ReadProgress(archive) as progress:
        assert progress._thread is None  # no poller on CI, NO_COLOR or a pipe


@pytest.mark.parametrize("driver_name", ["kind", "minikube"])
def test_a_drivers_archive_load_shows_a_bar_of_mib(terminal, archive, silent_tool, monkeypatch, driver_name):
    from rootlesskube.drivers import get_driver

    monkeypatch.setattr(ReadProgress, "__init__", _fast_init)
    driver = get_driver(driver_name)
    with ui.step(f"load the image into {driver_name}"):
        driver.load_image("rk", archive)
    counts = _mib_counts(terminal.getvalue())
    assert len(counts) >= 2 and counts[-1] >= 2, counts


_original_init = ReadProgress.__init__


def _fast_init(self, archive, interval=0.5):
    _original_init(self, archive, interval=0.1)


def test_podman_save_layers_show_in_the_step_the_main_thread_waits_in(terminal):
    """`pmm deploy` saves the image in a worker while its main thread waits in the step "load the image";
    the lines are podman 4.3.1's own (tests/contracts/podman/README.md)."""
    lines = PODMAN_SAVE.read_text().splitlines()
    main = threading.get_ident()
    started = threading.Event()

    def worker():
        with image_progress.shown_in(main):
            copy = CopyProgress()
        started.wait(5)
        for line in lines:
            copy("stderr", line)
            time.sleep(0.3)

    thread = threading.Thread(target=worker)
    thread.start()
    with ui.step("load the image into the cluster"):
        started.set()
        thread.join()
    assert "1 layers" in terminal.getvalue()


def test_without_shown_in_a_workers_copy_stays_out_of_the_main_threads_step(terminal):
    lines = PODMAN_SAVE.read_text().splitlines()
    thread = threading.Thread(target=lambda: [CopyProgress()("stderr", line) for line in lines])
    with ui.step("apply the admin password Secret and the Service"):
        thread.start()
        thread.join()
        time.sleep(0.3)
    assert "layers" not in terminal.getvalue()


def test_pmm_deploy_saves_with_a_layer_counter(monkeypatch, tmp_path):
    from rootlesskube import podman
    from rootlesskube.workloads import pmm_deploy

    seen = []

    class Store:
        def __init__(self, *args, **kwargs):
            pass

        def image_exists(self, ref):
            return True

        def image_inspect(self, ref):  # rootlesskube.images asks the id and names first
            return {"Id": "0" * 64, "RepoTags": [ref]}

        def save(self, ref, archive, timeout=900, on_line=None):
            seen.append(on_line)
            Path(archive).write_bytes(b"x")

    class Driver:
        name = "kind"

        def held_images(self, name):  # the nodes hold nothing yet: the image is saved and loaded
            return {}

        def load_image(self, name, archive):
            seen.append(archive)

    monkeypatch.setattr(podman, "Podman", Store)
    target = pmm_deploy.Target(kubectl=None, cluster="rk", driver=Driver())
    pmm_deploy.prepare_image(target, pmm_deploy.DeployOptions(namespace="pmm"))
    assert isinstance(seen[0], CopyProgress) and seen[1].name.endswith(".tar")
