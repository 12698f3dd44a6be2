"""Builders of host fixture trees for `doctor --host-root` (tests only).

A HostTree writes the files the doctor reads (/etc/os-release, /proc/sys/...,
/sys/fs/cgroup/..., /etc/subuid, /proc/modules, modules.builtin, /dev nodes as
plain files with modes, ...). `healthy()` builds a host on which every file
check passes; each profile then breaks what that host breaks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterable, Optional

from rootlesskube.host.view import HostView

USER, UID = "alice", 1000
ALL = "cpuset cpu io memory hugetlb pids rdma misc"
DELEGATED = "cpuset cpu io memory pids"
V1_CONTROLLERS = ("blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd")
FEDORA = {"ID": "fedora", "VERSION_ID": "41", "PRETTY_NAME": "Fedora Linux 41 (Workstation Edition)"}
UBUNTU = {"ID": "ubuntu", "ID_LIKE": "debian", "VERSION_ID": "24.04", "PRETTY_NAME": "Ubuntu 24.04.1 LTS"}
RHEL8 = {"ID": "rhel", "ID_LIKE": "fedora", "VERSION_ID": "8.10",
         "PRETTY_NAME": "Red Hat Enterprise Linux 8.10 (Ootpa)"}
DEBIAN12 = {"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"}


class HostTree:
    def __init__(self, root: Path, release: str = "6.11.4-301.fc41.x86_64"):
        self.root = Path(root)
        self.release = release

    def view(self) -> HostView:
        return HostView(str(self.root))

    def write(self, host_path: str, text: str = "", mode: Optional[int] = None) -> Path:
        path = self.root / host_path.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if mode is not None:
            os.chmod(path, mode)
        return path

    def remove(self, host_path: str) -> None:
        path = self.root / host_path.lstrip("/")
        if path.is_dir():
            import shutil

            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    def sysctl(self, name: str, value) -> None:
        self.write("/proc/sys/" + name.replace(".", "/"), f"{value}\n")

    def os_release(self, fields: Dict[str, str]) -> None:
        self.write("/etc/os-release", "".join(f'{k}="{v}"\n' for k, v in fields.items()))

    def kernel(self, release: str, arch: str = "x86_64") -> None:
        self.release = release
        self.write("/proc/sys/kernel/osrelease", release + "\n")
        self.write("/proc/sys/kernel/arch", arch + "\n")

    def users(self, extra: Iterable[str] = ()) -> None:
        lines = ["root:x:0:0:root:/root:/bin/bash", f"{USER}:x:{UID}:{UID}:Alice:/home/{USER}:/bin/bash", *extra]
        self.write("/etc/passwd", "\n".join(lines) + "\n")
        self.write("/etc/group", f"root:x:0:\n{USER}:x:{UID}:\n")

    def subids(self, text: str) -> None:
        self.write("/etc/subuid", text)
        self.write("/etc/subgid", text)

    def binary(self, host_path: str, mode: int = 0o755) -> None:
        self.write(host_path, "#!/bin/sh\n", mode)

    def device(self, host_path: str, mode: int) -> None:
        self.write(host_path, "", mode)

    def systemd(self) -> None:
        self.binary("/usr/lib/systemd/systemd")

    def cgroup_v2(self, user_controllers: Optional[str] = DELEGATED) -> None:
        self.write("/sys/fs/cgroup/cgroup.controllers", ALL + "\n")
        if user_controllers is not None:
            self.write(f"/sys/fs/cgroup/user.slice/user-{UID}.slice/user@{UID}.service/cgroup.controllers",
                       user_controllers + "\n")

    def cgroup_v1(self) -> None:
        self.remove("/sys/fs/cgroup")
        for name in V1_CONTROLLERS:
            (self.root / "sys/fs/cgroup" / name).mkdir(parents=True, exist_ok=True)

    def cgroup_hybrid(self) -> None:
        self.cgroup_v1()
        self.write("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")

    def delegate_conf(self, controllers: str = DELEGATED) -> None:
        self.write("/etc/systemd/system/user@.service.d/delegate.conf", f"[Service]\nDelegate={controllers}\n")

    def kernel_config(self, settings: Dict[str, str], path: str = "/proc/config.gz") -> None:
        """A kernel config (gzip-compressed at /proc/config.gz, as the kernel serves it): SYMBOL -> y, m or n."""
        lines = [f"# {k} is not set" if v == "n" else f"{k}={v}" for k, v in settings.items()]
        text = "#\n# Automatically generated file; DO NOT EDIT.\n#\n" + "\n".join(lines) + "\n"
        if path.endswith(".gz"):
            import gzip

            target = self.root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gzip.compress(text.encode()))
        else:
            self.write(path, text)

    def modules(self, loaded: Iterable[str] = (), builtin: Iterable[str] = ()) -> None:
        self.write("/proc/modules", "".join(f"{m} 16384 0 - Live 0x0000000000000000\n" for m in loaded))
        self.write(f"/lib/modules/{self.release}/modules.builtin",
                   "".join(f"kernel/net/{m}.ko\n" for m in builtin))


def healthy(tree: HostTree, os_fields: Dict[str, str] = FEDORA, release: str = "6.11.4-301.fc41.x86_64") -> HostTree:
    """A host on which every file-based check passes for every driver."""
    tree.os_release(os_fields)
    tree.kernel(release)
    tree.users()
    tree.subids(f"{USER}:524288:65536\n")
    tree.sysctl("user.max_user_namespaces", 63528)
    tree.sysctl("net.ipv4.ip_unprivileged_port_start", 1024)
    tree.sysctl("fs.inotify.max_user_watches", 524288)
    tree.sysctl("fs.inotify.max_user_instances", 8192)
    tree.sysctl("kernel.keys.maxkeys", 20000)
    tree.sysctl("kernel.keys.maxbytes", 500000)
    tree.sysctl("net.ipv6.conf.all.disable_ipv6", 0)
    tree.systemd()
    tree.cgroup_v2()
    tree.delegate_conf()
    tree.modules(loaded=["ip_tables", "ip6_tables", "iptable_nat", "ip6table_nat", "br_netfilter", "vxlan",
                         "nf_tables"],
                 builtin=["overlay"])
    for program in ("podman", "crun", "pasta", "slirp4netns", "kind", "minikube", "kubectl", "make", "jq",
                    "podman-compose"):
        tree.binary(f"/usr/bin/{program}")
    for helper in ("newuidmap", "newgidmap"):
        tree.binary(f"/usr/bin/{helper}", 0o4755)
    tree.device("/dev/net/tun", 0o666)
    tree.device("/dev/fuse", 0o666)
    tree.write(f"/var/lib/systemd/linger/{USER}")
    return tree
