"""`tools install` against an HTTP server on 127.0.0.1 (the real download hosts are unreachable here)."""

from __future__ import annotations

import hashlib
import http.server
import os
import stat
import threading

import pytest

from rootlesskube import paths, tools

PAYLOAD = b"#!/bin/sh\necho kind stand-in binary\n"


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "mirror"
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **kw)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def publish(root, release, data):
    target = root / release.name / release.version / release.filename
    target.parent.mkdir(parents=True)
    target.write_bytes(data)


def test_install_verifies_and_the_driver_finds_it(cli, server, monkeypatch):
    root, base = server
    release = tools.Release("kind", "v0.32.0", tools.RELEASES["kind"].url, hashlib.sha256(PAYLOAD).hexdigest())
    monkeypatch.setitem(tools.RELEASES, "kind", release)
    publish(root, release, PAYLOAD)
    code, out, err = cli("tools", "install", "kind", "--base-url", base)
    assert code == 0, err
    installed = paths.data_dir() / "bin" / "kind"
    assert out == f"kind v0.32.0: {installed}\n"
    assert installed.read_bytes() == PAYLOAD
    assert stat.S_IMODE(installed.stat().st_mode) == 0o755
    assert tools.binary("kind") == str(installed)
    assert tools.binary("minikube") == "minikube"  # not installed: PATH


def test_a_mismatch_is_refused_and_nothing_is_installed(cli, server):
    root, base = server
    publish(root, tools.RELEASES["kind"], PAYLOAD)  # not the real kind: its sha256 differs from the pinned one
    code, out, err = cli("tools", "install", "kind", "--base-url", base)
    assert code == 1
    assert (f"has sha256 {hashlib.sha256(PAYLOAD).hexdigest()}, expected "
            "50030de23cf40a18505f20426f6a8506bedf13c6e509244bd1fa9463721b0f54; nothing was installed") in err
    assert not (paths.data_dir() / "bin").exists() or os.listdir(paths.data_dir() / "bin") == []


def test_an_unpinned_tool_is_refused(cli, server):
    root, base = server
    publish(root, tools.RELEASES["minikube"], PAYLOAD)
    code, out, err = cli("tools", "install", "minikube", "--base-url", base)
    assert code == 1
    assert "minikube v1.38.1 has no pinned sha256 in this rootlesskube release, so it will not be installed" in err


def test_unknown_tool_and_missing_file(cli, server):
    root, base = server
    code, out, err = cli("tools", "install", "k3d")
    assert code == 2 and "unknown tool 'k3d'" in err
    code, out, err = cli("tools", "install", "kubectl", "--base-url", base)
    assert code == 1 and "HTTP 404" in err


def test_kubectl_runs_the_installed_copy(tmp_path):
    from rootlesskube.kube import Kubectl

    assert Kubectl().argv(["version"])[0] == "kubectl"  # nothing installed: PATH
    installed = tools.bin_dir() / "kubectl"
    installed.parent.mkdir(parents=True)
    installed.write_text("#!/bin/sh\necho \"installed kubectl $*\"\n")
    installed.chmod(0o755)
    kubectl = Kubectl(str(tmp_path / "kubeconfig"))
    assert kubectl.argv(["version"])[0] == str(installed)
    assert kubectl.run(["version"]).stdout == f"installed kubectl --kubeconfig {tmp_path / 'kubeconfig'} version\n"


def test_podman_compose_is_installed_only_from_files_with_the_pinned_hashes(cli, tmp_path):
    """pip --require-hashes refuses a wheel whose sha256 is not the one pinned from PyPI; nothing is linked."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "podman_compose-1.6.0-py3-none-any.whl").write_bytes(b"not the published wheel")
    code, out, err = cli("tools", "install", "podman-compose", "--find-links", str(wheels))
    assert code == 1
    assert "error: installing podman-compose 1.6.0 into " in err and "nothing was linked" in err
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in err
    assert "98e48af25d44c10ecef948163bfcca002e32aa8bbb7e66593fbd4faff7270c30" in err  # the pinned one, expected
    assert not os.path.lexists(tools.bin_dir() / "podman-compose")
    assert tools.binary("podman-compose") == "podman-compose"


def test_podman_compose_pins_cover_it_and_its_dependencies():
    lines = [line.split()[0] for line in tools.PODMAN_COMPOSE_REQUIREMENTS.splitlines() if "==" in line]
    assert lines == ["podman-compose==1.6.0", "python-dotenv==1.2.1", "pyyaml==6.0.3"]
    assert tools.RELEASES["podman-compose"].version == "1.6.0"
    assert tools.not_found_hint("podman-compose").startswith("install it with `rootlesskube tools install podman-compose`")


def test_podman_compose_installs_from_pypi_and_the_usernetes_driver_finds_it(cli):
    """The real thing (PyPI is reachable from developers' machines and CI): a venv, the pinned wheels, the link."""
    from rootlesskube.drivers import compose

    code, out, err = cli("tools", "install", "podman-compose")
    assert code == 0, err
    link = tools.bin_dir() / "podman-compose"
    assert out == f"podman-compose 1.6.0: {link}\n"
    assert os.readlink(link) == str(paths.data_dir() / "podman-compose" / "bin" / "podman-compose")
    assert compose.find() == str(link)  # `podman-compose version` says 1.6.0, new enough for Usernetes
