"""Pinned releases of the cluster tools, downloaded into the data directory.

`install(name)` fetches one pinned release, checks its sha256 against the
value pinned here and installs it as data_dir()/bin/NAME (mode 0755). A
download that does not match is refused and nothing is installed. Drivers
call `binary(name)`, which prefers that copy over the one on PATH.

The checksums are the published `.sha256sum`/`.sha256` values of the upstream
releases for linux/amd64. minikube's is not pinned yet (it could not be read
from a source this project trusts), so `install("minikube")` refuses.

podman-compose is a Python program: `install("podman-compose")` makes a venv
in data_dir()/podman-compose with the running interpreter's venv module and
pip-installs the pinned release and its dependencies with --require-hashes
(the sha256 of each PyPI file below), then links data_dir()/bin/podman-compose
to the venv's script. Debian 12's podman-compose (1.0.3) cannot parse
Usernetes' compose file; 1.0.6 is the oldest release that can.
"""

from __future__ import annotations

import hashlib
import os
import platform
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import paths
from .errors import RootlesskubeError, UsageError

DOWNLOAD_TIMEOUT = 120.0
BASE_URL_ENV = "ROOTLESSKUBE_TOOLS_BASE_URL"


@dataclass(frozen=True)
class Release:
    name: str
    version: str
    url: str  # upstream download URL (linux/amd64)
    sha256: Optional[str]  # None = not pinned: install refuses

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def url_from(self, base_url: Optional[str]) -> str:
        """With a base URL (a mirror, or a test server): BASE/NAME/VERSION/FILENAME."""
        if not base_url:
            return self.url
        return f"{base_url.rstrip('/')}/{self.name}/{self.version}/{self.filename}"


RELEASES = {
    "kind": Release(
        "kind", "v0.32.0",
        "https://github.com/kubernetes-sigs/kind/releases/download/v0.32.0/kind-linux-amd64",
        "50030de23cf40a18505f20426f6a8506bedf13c6e509244bd1fa9463721b0f54",
    ),
    "kubectl": Release(
        "kubectl", "v1.36.1",
        "https://dl.k8s.io/release/v1.36.1/bin/linux/amd64/kubectl",
        "629d3f410e09bf49b64ae7079f7f0bda1191efed311f7d37fdbab0ad5b0ec2b7",
    ),
    "podman-compose": Release(
        "podman-compose", "1.6.0", "https://pypi.org/project/podman-compose/1.6.0/",
        "98e48af25d44c10ecef948163bfcca002e32aa8bbb7e66593fbd4faff7270c30",  # podman_compose-1.6.0-py3-none-any.whl
    ),
    "minikube": Release(
        "minikube", "v1.38.1",
        "https://github.com/kubernetes/minikube/releases/download/v1.38.1/minikube-linux-amd64",
        None,  # not pinned yet: see the module docstring
    ),
}


# pip's --require-hashes input for podman-compose 1.6.0 and its dependencies (python-dotenv, pyyaml),
# the sha256 of each file on PyPI: pyyaml's manylinux x86_64 wheels for CPython 3.9-3.14.
PODMAN_COMPOSE_REQUIREMENTS = """\
podman-compose==1.6.0 --hash=sha256:98e48af25d44c10ecef948163bfcca002e32aa8bbb7e66593fbd4faff7270c30
python-dotenv==1.2.1 --hash=sha256:b81ee9561e9ca4004139c6cbba3a238c32b03e4894671e181b671e8cb8425d61
pyyaml==6.0.3 \\
    --hash=sha256:0150219816b6a1fa26fb4699fb7daa9caf09eb1999f3b70fb6e786805e80375a \\
    --hash=sha256:9c7708761fccb9397fe64bbc0395abcae8c4bf7b0eac081e12b809bf47700d0b \\
    --hash=sha256:b8bb0864c5a28024fac8a632c443c87c5aa6f215c0b126c449ae1a150412f31d \\
    --hash=sha256:ba1cc08a7ccde2d2ec775841541641e4548226580ab850948cbfda66a1befcdc \\
    --hash=sha256:0f29edc409a6392443abf94b9cf89ce99889a1dd5376d94316ae5145dfedd5d6 \\
    --hash=sha256:c458b6d084f9b935061bc36216e8a69a7e293a2f1e68bf956dcd9e6cbcd143f5
"""
PIP_TIMEOUT = 600.0


def bin_dir() -> Path:
    return paths.data_dir() / "bin"


def binary(name: str) -> str:
    """The program to run for NAME: our installed copy if there is one, else NAME (PATH)."""
    installed = str(bin_dir() / name)
    if os.path.isfile(installed) and os.access(installed, os.X_OK):  # both False, not raised, on EACCES
        return installed
    return name


def not_found_hint(name: str) -> str:
    if name in RELEASES:
        return f"install it with `rootlesskube tools install {name}`, or put {name} on PATH"
    return f"install {name} and put it on PATH"


def release(name: str) -> Release:
    try:
        return RELEASES[name]
    except KeyError:
        raise UsageError(f"unknown tool {name!r}", hint=f"use one of: {', '.join(sorted(RELEASES))}") from None


def install(name: str, base_url: Optional[str] = None, find_links: Optional[str] = None) -> Path:
    """Download, verify and install one pinned tool; returns its path."""
    rel = release(name)
    if name == "podman-compose":
        return install_podman_compose(find_links)
    machine = platform.machine()
    if machine not in ("x86_64", "amd64"):
        raise RootlesskubeError(f"pinned downloads exist for linux/amd64 only, this machine is {machine}",
                                hint=f"install {name} from your distribution or its project page")
    if rel.sha256 is None:
        raise RootlesskubeError(
            f"{name} {rel.version} has no pinned sha256 in this rootlesskube release, so it will not be installed",
            hint=f"install {name} yourself (verify it against {rel.url}.sha256) and put it on PATH",
        )
    url = rel.url_from(base_url or os.environ.get(BASE_URL_ENV))
    data = _download(url)
    actual = hashlib.sha256(data).hexdigest()
    if actual != rel.sha256:
        raise RootlesskubeError(
            f"the download of {name} {rel.version} from {url} has sha256 {actual}, expected {rel.sha256}; "
            "nothing was installed",
            hint="the file was corrupted or tampered with: try again, or check the mirror you use",
        )
    target = bin_dir() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{name}.download")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    return target


def _download(url: str) -> bytes:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise UsageError(f"refusing to download from {url}: only https (or a loopback test server) is allowed")
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise RootlesskubeError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RootlesskubeError(f"downloading {url} failed: {reason}",
                                hint=f"check the network, or set {BASE_URL_ENV} to a reachable mirror") from None


def install_podman_compose(find_links: Optional[str] = None) -> Path:
    """A venv with the pinned podman-compose (pip --require-hashes), linked as bin/podman-compose.

    find_links: a folder (or URL) holding the files, used instead of PyPI (--no-index).
    """
    import sys

    from .run import CommandError, run

    venv = paths.data_dir() / "podman-compose"
    run([sys.executable, "-m", "venv", "--clear", str(venv)], timeout=PIP_TIMEOUT,
        hint="the venv module is missing (Debian/Ubuntu: apt-get install python3-venv)")
    requirements = venv / "requirements.txt"
    requirements.write_text(PODMAN_COMPOSE_REQUIREMENTS)
    source = ["--no-index", "--find-links", find_links] if find_links else []
    try:
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-input", "--require-hashes", "--only-binary", ":all:", *source, "-r", str(requirements)],
            timeout=PIP_TIMEOUT, env={"PIP_CONSTRAINT": ""})  # a site constraint file would clash with the pins
    except CommandError as exc:
        raise RootlesskubeError(
            f"installing podman-compose {RELEASES['podman-compose'].version} into {venv} failed; nothing was linked:\n"
            + (exc.stderr.strip() or str(exc)),
            hint="a hash mismatch means a corrupted or tampered download; otherwise check the network "
                 "(pip reaches PyPI) and try again") from None
    target = bin_dir() / "podman-compose"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(".podman-compose.link")
    if os.path.lexists(tmp):
        tmp.unlink()
    tmp.symlink_to(venv / "bin" / "podman-compose")
    os.replace(tmp, target)
    return target
