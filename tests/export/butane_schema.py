"""A strict validator for Butane's fcos 1.5.0 spec (coreos/butane docs/config-fcos-v1_5.md).

No maintained Python package validates Butane configs, and the butane binary cannot
be downloaded here, so the spec's objects are written down: every key known per
object, its type, the required keys, the mutually exclusive content forms and
the uniqueness rules. Sections rootlesskube never emits (ignition, luks, raid,
trees, boot_device, grub, kernel_arguments) are accepted by name only if absent.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

STR, INT, BOOL = "string", "integer", "boolean"


class Obj:
    def __init__(self, fields: Dict[str, object], required: Tuple[str, ...] = (),
                 exclusive: Tuple[Tuple[str, ...], ...] = ()):
        self.fields, self.required, self.exclusive = fields, required, exclusive


class ListOf:
    def __init__(self, item: object):
        self.item = item


NAMED = Obj({"id": INT, "name": STR})
HEADERS = ListOf(Obj({"name": STR, "value": STR}, required=("name",)))
RESOURCE = Obj({"compression": STR, "source": STR, "inline": STR, "local": STR, "http_headers": HEADERS,
                "verification": Obj({"hash": STR})}, exclusive=(("source", "inline", "local"),))
FILE = Obj({"path": STR, "overwrite": BOOL, "contents": RESOURCE, "append": ListOf(RESOURCE), "mode": INT,
            "user": NAMED, "group": NAMED}, required=("path",))
DIRECTORY = Obj({"path": STR, "overwrite": BOOL, "mode": INT, "user": NAMED, "group": NAMED}, required=("path",))
LINK = Obj({"path": STR, "overwrite": BOOL, "user": NAMED, "group": NAMED, "target": STR, "hard": BOOL},
           required=("path", "target"))
PARTITION = Obj({"label": STR, "number": INT, "size_mib": INT, "start_mib": INT, "type_guid": STR, "guid": STR,
                 "wipe_partition_entry": BOOL, "should_exist": BOOL, "resize": BOOL})
DISK = Obj({"device": STR, "wipe_table": BOOL, "partitions": ListOf(PARTITION)}, required=("device",))
FILESYSTEM = Obj({"device": STR, "format": STR, "path": STR, "wipe_filesystem": BOOL, "label": STR, "uuid": STR,
                  "options": ListOf(STR), "mount_options": ListOf(STR), "with_mount_unit": BOOL},
                 required=("device", "format"))
DROPIN = Obj({"name": STR, "contents": STR, "contents_local": STR}, required=("name",),
             exclusive=(("contents", "contents_local"),))
UNIT = Obj({"name": STR, "enabled": BOOL, "mask": BOOL, "contents": STR, "contents_local": STR,
            "dropins": ListOf(DROPIN)}, required=("name",), exclusive=(("contents", "contents_local"),))
USER = Obj({"name": STR, "password_hash": STR, "ssh_authorized_keys": ListOf(STR),
            "ssh_authorized_keys_local": ListOf(STR), "uid": INT, "gecos": STR, "home_dir": STR,
            "no_create_home": BOOL, "primary_group": STR, "groups": ListOf(STR), "no_user_group": BOOL,
            "no_log_init": BOOL, "shell": STR, "should_exist": BOOL, "system": BOOL}, required=("name",))
GROUP = Obj({"name": STR, "gid": INT, "password_hash": STR, "should_exist": BOOL, "system": BOOL},
            required=("name",))
ROOT = Obj({
    "variant": STR, "version": STR,
    "passwd": Obj({"users": ListOf(USER), "groups": ListOf(GROUP)}),
    "storage": Obj({"disks": ListOf(DISK), "filesystems": ListOf(FILESYSTEM), "files": ListOf(FILE),
                    "directories": ListOf(DIRECTORY), "links": ListOf(LINK)}),
    "systemd": Obj({"units": ListOf(UNIT)}),
}, required=("variant", "version"))

FORMATS = ("ext4", "btrfs", "xfs", "vfat", "swap", "none")
UNIT_TYPES = (".service", ".socket", ".device", ".mount", ".automount", ".swap", ".target", ".path", ".timer",
              ".slice", ".scope")


def _type_ok(value, kind: str) -> bool:
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, {STR: str, BOOL: bool}[kind])


def _check(value, schema, where: str, errors: List[str]) -> None:
    if isinstance(schema, str):
        if not _type_ok(value, schema):
            errors.append(f"{where}: expected {schema}, got {type(value).__name__} {value!r}")
    elif isinstance(schema, ListOf):
        if not isinstance(value, list):
            errors.append(f"{where}: expected a list, got {type(value).__name__}")
            return
        for index, item in enumerate(value):
            _check(item, schema.item, f"{where}[{index}]", errors)
    else:
        if not isinstance(value, dict):
            errors.append(f"{where}: expected an object, got {type(value).__name__}")
            return
        for key in value:
            if key not in schema.fields:
                errors.append(f"{where}: unknown key {key!r}")
        for key in schema.required:
            if key not in value:
                errors.append(f"{where}: missing required key {key!r}")
        for group in schema.exclusive:
            present = [k for k in group if k in value]
            if len(present) > 1:
                errors.append(f"{where}: {' and '.join(present)} are mutually exclusive")
        for key, item in value.items():
            if key in schema.fields:
                _check(item, schema.fields[key], f"{where}.{key}", errors)


def validate(config) -> List[str]:
    """Every way CONFIG breaks the fcos 1.5.0 spec; [] when it is valid."""
    errors: List[str] = []
    _check(config, ROOT, "$", errors)
    if errors:
        return errors
    if config["variant"] != "fcos":
        errors.append(f"$.variant: must be 'fcos', got {config['variant']!r}")
    if config["version"] != "1.5.0":
        errors.append(f"$.version: this validator knows 1.5.0, got {config['version']!r}")
    storage = config.get("storage", {})
    seen: Dict[str, str] = {}
    for section in ("files", "directories", "links"):
        for index, node in enumerate(storage.get(section, [])):
            where = f"$.storage.{section}[{index}]"
            if not node["path"].startswith("/"):
                errors.append(f"{where}.path: must be absolute")
            if node["path"] in seen:
                errors.append(f"{where}.path: {node['path']} is also {seen[node['path']]}")
            seen[node["path"]] = where
            if "mode" in node and not 0 <= node["mode"] <= 0o7777:
                errors.append(f"{where}.mode: {node['mode']} is not a permission mode")
            if node.get("overwrite") and section == "files" and "contents" not in node:
                errors.append(f"{where}: overwrite needs contents")
    for index, disk in enumerate(storage.get("disks", [])):
        numbers = [p.get("number", 0) for p in disk.get("partitions", [])]
        if len([n for n in numbers if n]) != len({n for n in numbers if n}):
            errors.append(f"$.storage.disks[{index}]: partition numbers must be unique")
    devices = [fs["device"] for fs in storage.get("filesystems", [])]
    if len(devices) != len(set(devices)):
        errors.append("$.storage.filesystems: every filesystem needs a unique device")
    for index, fs in enumerate(storage.get("filesystems", [])):
        if fs["format"] not in FORMATS:
            errors.append(f"$.storage.filesystems[{index}].format: {fs['format']!r} is not one of {FORMATS}")
        if fs.get("with_mount_unit") and "path" not in fs and fs["format"] != "swap":
            errors.append(f"$.storage.filesystems[{index}]: with_mount_unit needs a path")
    names = []
    for index, unit in enumerate(config.get("systemd", {}).get("units", [])):
        names.append(unit["name"])
        if not unit["name"].endswith(UNIT_TYPES):
            errors.append(f"$.systemd.units[{index}].name: {unit['name']!r} has no unit type suffix")
        for dropin in unit.get("dropins", []):
            if not dropin["name"].endswith(".conf"):
                errors.append(f"$.systemd.units[{index}].dropins: {dropin['name']!r} must end with .conf")
    if len(names) != len(set(names)):
        errors.append("$.systemd.units: every unit needs a unique name")
    users = [u["name"] for u in config.get("passwd", {}).get("users", [])]
    if len(users) != len(set(users)):
        errors.append("$.passwd.users: every user needs a unique name")
    return errors
