"""A real OpenSSH server on loopback and a second unprivileged user: a second "host" for tests.

As root: `LoopbackHost.start(base)` creates a throw-away user (useradd, home
under /home, no password but not locked), a client key pair, an ssh_config
for the client (that key, a known_hosts file holding the server's generated
host key, strict checking) and runs `/usr/sbin/sshd -D -e -f CONFIG` on
127.0.0.1 at a free high port (public keys only, no PAM, the user's
~/.ssh/environment honoured). `stop()` kills that sshd and removes the user.

Test scaffolding, so it uses subprocess directly (the product goes through
rootlesskube.run).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import List, Optional

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")  # Debian's sshd refuses to start without it


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing() -> Optional[str]:
    """Why this machine cannot run the loopback host, or None."""
    if os.geteuid() != 0:
        return "needs root (creates a user and runs sshd)"
    for tool in (SSHD, shutil.which("ssh-keygen"), shutil.which("useradd"), shutil.which("ssh"), shutil.which("scp")):
        if not tool or not os.access(tool, os.X_OK):
            return f"{tool or 'an OpenSSH/passwd tool'} is missing (apt-get install openssh-server openssh-client)"
    return None


def _run(argv: List[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


class LoopbackHost:
    def __init__(self, base: Path):
        self.base = base
        self.user = "rkjoin" + secrets.token_hex(4)
        self.port = free_port()
        self.ssh_config = base / "ssh_config"
        self.log = base / "sshd.log"
        self.proc: Optional[subprocess.Popen] = None
        self.created_privsep = False
        self.created_user = False

    @property
    def address(self) -> str:
        return f"{self.user}@127.0.0.1:{self.port}"

    @property
    def home(self) -> Path:
        return Path(pwd.getpwnam(self.user).pw_dir)

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.user).pw_uid

    @property
    def gid(self) -> int:
        return pwd.getpwnam(self.user).pw_gid

    @classmethod
    def start(cls, base: Path) -> "LoopbackHost":
        host = cls(base)
        try:
            host._create_user()
            host._configure()
            host._run_sshd()
        except BaseException:
            host.stop()
            raise
        return host

    def _create_user(self) -> None:
        _run(["useradd", "--create-home", "--shell", "/bin/sh", self.user])
        self.created_user = True
        _run(["usermod", "--password", "*", self.user])  # "!" (locked) makes sshd refuse it without PAM

    def _configure(self) -> None:
        keys = self.base / "keys"
        keys.mkdir(mode=0o700)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rk-test-host", "-f", str(keys / "host")])
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rk-test-client", "-f", str(keys / "client")])
        # sshd reads authorized_keys with the user's privileges: outside the root-only keys folder
        authorized = self.base / "authorized_keys"
        authorized.write_text((keys / "client.pub").read_text())
        authorized.chmod(0o644)
        (keys / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {(keys / 'host.pub').read_text()}")
        (self.base / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\nPidFile {self.base / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {authorized}\nAllowUsers {self.user}\n"
            "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\nPermitRootLogin no\nPermitUserEnvironment yes\n"
            "Subsystem sftp internal-sftp\nLogLevel VERBOSE\n"
        )
        self.ssh_config.write_text(
            f"Host 127.0.0.1\n  IdentityFile {keys / 'client'}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {keys / 'known_hosts'}\n  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n"
        )

    def _run_sshd(self) -> None:
        if not PRIVSEP_DIR.is_dir():
            PRIVSEP_DIR.mkdir(mode=0o755)
            self.created_privsep = True
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.base / "sshd_config")],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.proc.returncode}:\n{self.log.read_text()}")
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"sshd did not listen on 127.0.0.1:{self.port} within 10s:\n{self.log.read_text()}")

    def write_environment(self, variables: dict) -> None:
        """The user's ~/.ssh/environment (sshd sets it for every session: PermitUserEnvironment)."""
        ssh_dir = self.home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        env_file = ssh_dir / "environment"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in variables.items()))
        for path in (ssh_dir, env_file):
            os.chown(path, self.uid, self.gid)

    def make_dir(self, path: Path) -> Path:
        """A directory the remote user owns."""
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        return path

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.created_user:
            for _ in range(20):  # a session that is still closing keeps the user "in use" for a moment
                if subprocess.run(["userdel", "--remove", self.user], capture_output=True, timeout=60).returncode == 0:
                    break
                time.sleep(0.25)
            else:
                _run(["userdel", "--force", "--remove", self.user])
        if self.created_privsep:
            shutil.rmtree(PRIVSEP_DIR, ignore_errors=True)
