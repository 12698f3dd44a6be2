"""A cloud-config for distributions that boot with cloud-init instead of Ignition.

The same VmConfig as the Butane config. cloud-init creates parent directories as
root and has no symlink or directory entries, so the user's directories, the
enable link and their owner are set by `runcmd` (argv lists: no shell).

Module order (Debian's cloud.cfg, cloud-init 22.4): write-files, disk_setup, mounts
and users-groups run in the init stage; package installs, write-files-deferred and
runcmd in the final stage. Hence:
- /etc/subuid and /etc/subgid are deferred: written before users-groups, useradd
  (passwd 4.13) would append a second range for the user to the one written.
- the data disk is ext4: disk_setup runs before `packages`, so its mkfs must be in
  the image already; e2fsprogs is Priority: required on Debian, xfsprogs is not
  (cc_disk_setup only logs "No mkfs.xfs command" and skips).
"""

from __future__ import annotations

from typing import List, Optional

import yaml

from .butane import _Dumper
from .host_files import SUBID_FILES
from .vm import DATA_LABEL, DATA_MOUNT, USER_DROPIN, VmConfig, VmFile

HEADER = "#cloud-config\n"
DATA_FORMAT = "ext4"  # mkfs.ext4 is in every Debian and Ubuntu image before `packages` runs


def _write_file(f: VmFile) -> dict:
    entry = {"path": f.path, "content": f.contents, "permissions": f"{f.mode:04o}"}
    if f.owner:
        entry["owner"] = f"{f.owner}:{f.owner}"
    if f.owner or f.path in SUBID_FILES:
        entry["defer"] = True  # written after users-groups: the user exists, and useradd added no range after it
    return entry


def cloud_config(vm: VmConfig) -> dict:
    user: dict = {"name": vm.user, "shell": "/bin/bash", "lock_passwd": True}  # keys only: no password login
    if vm.ssh_keys:
        user["ssh_authorized_keys"] = list(vm.ssh_keys)
    files = [_write_file(f) for f in vm.files]
    files.append(_write_file(VmFile(f"/etc/systemd/system/user@.service.d/{USER_DROPIN}", vm.user_dropin)))
    owner = f"{vm.user}:{vm.user}"
    runcmd: List[List[str]] = []
    for d in vm.directories:
        runcmd.append(["install", "-d", "-m", f"{d.mode:04o}", "-o", d.owner or "root", "-g", d.owner or "root",
                       d.path])
    for link in vm.links:
        runcmd += [["ln", "-sfn", link.target, link.path], ["chown", "-h", owner, link.path]]
    runcmd += [
        ["sysctl", "--system"],
        ["systemctl", "restart", "systemd-modules-load.service"],
        ["systemctl", "daemon-reload"],
        ["loginctl", "enable-linger", vm.user],  # starts the user's manager now, and at every boot
    ]
    return {
        "users": [user],
        "packages": ["podman", *vm.packages],  # installed before runcmd starts the user's manager
        "disk_setup": {vm.data_disk: {"table_type": "gpt", "layout": True, "overwrite": False}},
        "fs_setup": [{"label": DATA_LABEL, "filesystem": DATA_FORMAT, "device": vm.data_disk, "partition": "auto",
                      "overwrite": False}],
        "mounts": [[f"LABEL={DATA_LABEL}", DATA_MOUNT, DATA_FORMAT, "defaults,nofail", "0", "2"]],
        "write_files": files,
        "runcmd": runcmd,
    }


def render(config: dict, comment: Optional[str] = None) -> str:
    body = yaml.dump(config, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)
    return HEADER + (f"# {comment}\n" if comment else "") + body
