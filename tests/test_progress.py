"""Long work shows its progress on a terminal, and plain output stays line-based (issue 17)."""

from __future__ import annotations

import io
import json
import sys
import tarfile
import time
from pathlib import Path

import pytest

from rootlesskube import ui
from rootlesskube.image_progress import CopyProgress, archive_layers
from rootlesskube.run import run


def test_a_running_step_shows_a_spinner_its_elapsed_time_and_the_tools_latest_line(terminal):
    script = "echo ' ✓ Ensuring node image (kindest/node:v1.36.1)' >&2; sleep 0.6; echo ' ✓ Preparing nodes' >&2; sleep 0.6"
    with ui.step("create the kind cluster rk"):
        run(["sh", "-c", script], timeout=10)
    out = terminal.getvalue()
    assert "create the kind cluster rk (0s)" in out and "create the kind cluster rk (1s)" in out
    assert "✓ Ensuring node image (kindest/node:v1.36.1)" in out and "✓ Preparing nodes" in out
    assert out.index("Ensuring node image") < out.index("Preparing nodes")
    assert "ok: create the kind cluster rk (1." in out
    assert ui._LiveSteps._live is None and ui._LiveSteps._stack == []  # the display is gone after the step


def test_nested_steps_share_one_display_and_it_ends_with_an_exception(terminal):
    with pytest.raises(RuntimeError):
        with ui.step("outer"):
            with ui.step("inner"):
                time.sleep(0.3)
                raise RuntimeError("boom")
    out = terminal.getvalue()
    assert "inner (0s)" in out and "FAILED: inner" in out and "FAILED: outer" in out
    assert ui._LiveSteps._live is None and ui._LiveSteps._stack == []


def test_plain_output_has_no_live_display(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    ui._consoles.clear()
    with ui.step("create the kind cluster rk"):
        run([sys.executable, "-c", "import sys; sys.stderr.write('Preparing nodes\\n')"], timeout=10)
    err = capsys.readouterr().err
    assert err.startswith("-> create the kind cluster rk\n   ok: create the kind cluster rk (")
    assert "Preparing nodes" not in err and "\r" not in err and "\x1b" not in err
    ui._consoles.clear()


@pytest.mark.parametrize("text, message", [
    ("the host is not ready for kind:\n  cgroup.v2: missing\n  subuid: no entry for ana\n",
     "the host is not ready for kind: cgroup.v2: missing; subuid: no entry for ana"),
    ("kind create cluster failed (exit 1)\nERROR: failed to create cluster", "kind create cluster failed (exit 1)"),
    ("", ""),
])
def test_a_failed_step_records_its_whole_first_line(text, message):
    assert ui.summary(text) == message
    with pytest.raises(RuntimeError):
        with ui.step("doctor", quiet=True) as record:
            raise RuntimeError(text)
    assert record.message == (message or "RuntimeError")


# --- image copies: layers counted from podman's own lines -----------------------------------------
PODMAN_LOAD = Path(__file__).parent / "contracts" / "podman" / "load.docker-archive.stderr.txt"


def test_layers_are_counted_from_podmans_lines(monkeypatch):
    """The sample is podman 4.3.1's real stderr of `podman load` (tests/contracts/podman/README.md)."""
    seen = []
    monkeypatch.setattr(ui, "progress_count", lambda done, total, unit, owner: seen.append((done, total, unit)))
    chained = []
    copy = CopyProgress(total=1, chained=lambda stream, line: chained.append(line))
    lines = PODMAN_LOAD.read_text().splitlines()
    for line in lines:
        copy("stderr", line)
    assert seen == [(0, 1, "layers"), (1, 1, "layers")]
    assert chained == lines
    three = CopyProgress()
    seen.clear()
    for digest in "abc":
        three("stderr", f"Copying blob sha256:{digest * 64}")
    three("stderr", "Copying config sha256:" + "d" * 64)
    assert seen == [(0, None, "layers"), (1, None, "layers"), (2, None, "layers"), (3, None, "layers")]


def test_an_image_copy_shows_a_bar_of_layers(terminal):
    copy = CopyProgress(total=2)
    with ui.step("load the PMM image into kind"):
        copy("stderr", "Copying blob sha256:" + "a" * 64)
        copy("stderr", "Copying blob sha256:" + "b" * 64)
        time.sleep(0.3)
        copy("stderr", "Copying config sha256:" + "c" * 64)
        time.sleep(0.3)
    out = terminal.getvalue()
    assert "1/2 layers" in out and "2/2 layers" in out and "━" in out


def test_the_layers_of_a_docker_archive(tmp_path):
    archive = tmp_path / "image.tar"
    manifest = json.dumps([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["a/layer.tar", "b/layer.tar"]}])
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest.encode()))
    assert archive_layers(str(archive)) == 2
    (tmp_path / "not.tar").write_text("garbage")
    assert archive_layers(str(tmp_path / "not.tar")) is None
    assert archive_layers(str(tmp_path / "missing.tar")) is None


def test_a_command_in_another_thread_does_not_show_in_the_running_step(terminal):
    import threading

    background = threading.Thread(target=run, args=(["sh", "-c", "echo 'Copying blob from the early pull' >&2"],),
                                  kwargs={"timeout": 10})
    with ui.step("check the host (doctor)"):
        background.start()
        background.join()
        run(["sh", "-c", "echo 'checking cgroups' >&2; sleep 0.3"], timeout=10)
    out = terminal.getvalue()
    assert "checking cgroups" in out and "early pull" not in out


def test_kinds_own_stage_lines_show_one_after_another(terminal):
    """kind's stderr when not on a terminal (../shared/contracts/kind/create-cluster.ok.stderr.txt): each
    stage line in turn is the step's latest line."""
    from tests.conftest import CONTRACTS

    sample = CONTRACTS / "kind" / "create-cluster.ok.stderr.txt"
    script = ("import sys, time\n"
              "for line in open(sys.argv[1], encoding='utf-8'):\n"
              "    sys.stderr.write(line); sys.stderr.flush(); time.sleep(0.15 if 'Preparing' in line else 0.02)\n")
    with ui.step("create the kind cluster rk-dev"):
        run([sys.executable, "-c", script, str(sample)], timeout=30)
    out = terminal.getvalue()
    stages = ["• Preparing nodes 📦 ...", "✓ Preparing nodes 📦"]  # the lines it lingers on (0.15 s each)
    assert all(stage in out for stage in stages), out[-600:]
    assert [out.index(stage) for stage in stages] == sorted(out.index(stage) for stage in stages)
