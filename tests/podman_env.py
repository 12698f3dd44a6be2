"""Real rootless Podman for integration tests (see ../shared/ENVIRONMENT.md).

Tests run as root; Podman runs as an unprivileged user through `runuser`.
This host needs the runc runtime (crun refuses its hybrid cgroups) and cannot
pull images, so a busybox image is built locally from busybox-static.

Use the `podman_user` fixture (a PodmanUser) from tests marked `podman`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tarfile
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

# ROOTLESSKUBE_TEST_USER lets two checkouts run their Podman tests side by side.
TEST_USER = os.environ.get("ROOTLESSKUBE_TEST_USER", "rk-test")
# The root-owned interpreter under /root is not executable by other users, so
# commands run as a test user use a venv in the checkout that .ci/run builds
# from Debian's python3 with this package installed in editable mode.
USER_PYTHON = os.environ.get(
    "ROOTLESSKUBE_USER_PYTHON", str(Path(__file__).resolve().parent.parent / ".user-venv" / "bin" / "python")
)
BUSYBOX_IMAGE = "localhost/rk-busybox:test"
BUSYBOX_APPLETS = ("sh", "id", "sleep", "cat", "ls", "ps", "true", "echo", "su", "setuidgid", "env", "grep")


def podman_unavailable_reason() -> str:
    if os.geteuid() != 0:
        return "needs root to create the unprivileged test user"
    for tool in ("podman", "runc", "newuidmap", "runuser"):
        if not shutil.which(tool):
            return f"{tool} is not installed (bash .ci/run installs it)"
    if not os.path.exists("/bin/busybox"):
        return "busybox-static is not installed"
    if not os.access(USER_PYTHON, os.X_OK):
        return f"{USER_PYTHON} is missing (bash .ci/run creates it)"
    return ""


def ensure_user(name: str) -> pwd.struct_passwd:
    """Create the user if missing; Debian's useradd also writes /etc/subuid and /etc/subgid."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True)
        return pwd.getpwnam(name)


def ensure_tun_usable() -> None:
    """slirp4netns needs /dev/net/tun; it is 0600 on this VM (0666 is usual)."""
    if os.path.exists("/dev/net/tun"):
        os.chmod("/dev/net/tun", 0o666)


@dataclass
class PodmanUser:
    name: str
    uid: int
    gid: int
    home: str

    def env(self) -> dict:
        runtime_dir = f"/tmp/rk-runtime-{self.uid}"
        os.makedirs(runtime_dir, mode=0o700, exist_ok=True)
        os.chown(runtime_dir, self.uid, self.gid)
        return {
            "HOME": self.home,
            "USER": self.name,
            "LOGNAME": self.name,
            "XDG_RUNTIME_DIR": runtime_dir,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }

    def run(self, argv: List[str], check: bool = True, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
        """Run argv as this user (runuser keeps it out of any root-owned session)."""
        env = {**self.env(), **kwargs.pop("env", {})}
        return subprocess.run(
            ["runuser", "-u", self.name, "--", "env", *[f"{k}={v}" for k, v in env.items()], *argv],
            capture_output=True, text=True, check=check, timeout=timeout, cwd="/", **kwargs,
        )

    def podman(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        return self.run(["podman", "--runtime", "runc", *args], check=check, timeout=timeout)

    def rootlesskube(self, *args: str, check: bool = False, timeout: float = 300,
                     module: str = "rootlesskube") -> subprocess.CompletedProcess:
        """Run `python -m rootlesskube ARGS` (or another module) as this user."""
        return self.run([USER_PYTHON, "-m", module, *args], check=check, timeout=timeout)

    def unique_name(self, prefix: str = "rk-test") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"


def configure_runc(user: PodmanUser) -> None:
    """runtime = "runc" in the user's containers.conf, so plain `podman` works too."""
    conf = Path(user.home) / ".config" / "containers" / "containers.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text('[engine]\nruntime = "runc"\n')
    for path in (conf.parent.parent, conf.parent, conf):
        os.chown(path, user.uid, user.gid)


def build_busybox_image(user: PodmanUser, image: str = BUSYBOX_IMAGE, applets=BUSYBOX_APPLETS,
                        files: Optional[Dict[str, str]] = None, folders=("tmp", "proc", "sys", "dev", "etc"),
                        changes: Sequence[str] = ()) -> str:
    """Import a busybox root filesystem as IMAGE in the user's store (no registry needed).

    files: path in the image -> file on this host to put there; changes: `podman import --change` lines."""
    if user.podman("image", "exists", image, check=False).returncode == 0:
        return image
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "busybox.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add("/bin/busybox", arcname="bin/busybox")
            for applet in applets:
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type = tarfile.SYMTYPE
                info.linkname = "busybox"
                tar.addfile(info)
            for arcname, source in (files or {}).items():
                tar.add(source, arcname=arcname)
            for folder in folders:
                info = tarfile.TarInfo(folder)
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777 if folder == "tmp" else 0o755
                tar.addfile(info)
        os.chmod(tmp, 0o755)
        os.chmod(archive, 0o644)
        user.podman("import", *[f"--change={change}" for change in changes], str(archive), image)
    return image


def prepare(name: str = TEST_USER) -> PodmanUser:
    entry = ensure_user(name)
    user = PodmanUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)
    ensure_tun_usable()
    configure_runc(user)
    return user


@pytest.fixture(scope="session")
def podman_user() -> PodmanUser:
    reason = podman_unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"real Podman tests cannot run in CI: {reason}")
        pytest.skip(reason)
    user = prepare()
    built = user.podman("image", "exists", BUSYBOX_IMAGE, check=False).returncode != 0
    build_busybox_image(user)
    yield user
    leftovers = user.podman("ps", "--all", "--quiet", check=False).stdout.split()
    if leftovers:  # a test that failed before its own cleanup
        user.podman("rm", "--force", "--time", "0", *leftovers, check=False)
    if built:  # what the session imported goes; an image the user had already stays
        user.podman("rmi", BUSYBOX_IMAGE, check=False)
