"""A Butane config (variant fcos, 1.5.0) for a new Fedora CoreOS VM; `butane --strict` turns it into Ignition."""

from __future__ import annotations

from typing import Optional

import yaml

from .host_files import SUBID_FILES
from .vm import DATA_FORMAT, DATA_LABEL, DATA_MOUNT, PACKAGES_UNIT, USER_DROPIN, VmConfig, packages_unit

VARIANT = "fcos"
VERSION = "1.5.0"  # Ignition spec 3.4.0: Fedora CoreOS since 38


def _owner(name: Optional[str]) -> dict:
    return {"user": {"name": name}, "group": {"name": name}} if name else {}


def butane(vm: VmConfig) -> dict:
    user: dict = {"name": vm.user}
    if vm.ssh_keys:
        user["ssh_authorized_keys"] = list(vm.ssh_keys)
    # No /etc/subuid or /etc/subgid: Ignition creates the user with useradd, which gives it the next free
    # range after core's (core:524288:65536 on Fedora CoreOS); overwriting the files would drop core's.
    files = [{"path": f.path, "mode": f.mode, "overwrite": True, "contents": {"inline": f.contents}, **_owner(f.owner)}
             for f in vm.files if f.path not in SUBID_FILES]
    directories = [{"path": d.path, "mode": d.mode, **_owner(d.owner)} for d in vm.directories]
    storage: dict = {
        "disks": [{
            "device": vm.data_disk,
            "wipe_table": False,  # persistent: a disk that already holds the data keeps it
            "partitions": [{"number": 1, "label": DATA_LABEL, "size_mib": 0}],
        }],
        "filesystems": [{
            "device": f"/dev/disk/by-partlabel/{DATA_LABEL}",
            "format": DATA_FORMAT,
            "path": DATA_MOUNT,
            "with_mount_unit": True,
        }],
        "directories": directories,
        "files": files,
    }
    if vm.links:
        storage["links"] = [{"path": link.path, "target": link.target, **_owner(link.owner)} for link in vm.links]
    dropin = vm.user_dropin
    units = []
    if vm.packages:  # Fedora CoreOS has no package manager at run time: layer them, and start users after that
        units.append({"name": PACKAGES_UNIT, "enabled": True, "contents": packages_unit(vm.packages)})
        dropin += f"Wants={PACKAGES_UNIT}\nAfter={PACKAGES_UNIT}\n"
    units.append({"name": "user@.service", "dropins": [{"name": USER_DROPIN, "contents": dropin}]})
    return {
        "variant": VARIANT,
        "version": VERSION,
        "passwd": {"users": [user]},
        "storage": storage,
        "systemd": {"units": units},
    }


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(config: dict) -> str:
    """YAML with file contents as literal blocks (readable), keys in the order written."""
    return yaml.dump(config, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)
