"""What a new VM gets, independent of the config format: files, directories, links, user, data disk.

butane.py and cloud_init.py render the same VmConfig, so the two formats cannot drift.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .. import __version__, inputs
from ..errors import UsageError
from ..names import user_name
from . import host_files, systemd_unit

DEFAULT_USER = "core"  # Fedora CoreOS's own login user
DEFAULT_DATA_DISK = "/dev/vdb"  # the second virtio disk of a QEMU/libvirt VM
DATA_LABEL = "rk-data"
DATA_MOUNT = "/var/lib/rootlesskube-data"
DATA_FORMAT = "xfs"
USER_DROPIN = "rootlesskube-data.conf"
RECIPE_UNIT = "rootlesskube-recipe.service"
PACKAGES_UNIT = "rootlesskube-packages.service"  # Fedora CoreOS: layers PACKAGES with rpm-ostree at first boot
# A recipe VM needs Python for rootlesskube (Fedora CoreOS has none); the user's unit makes a venv of it
# (pip inside a venv: no PEP 668 refusal on Debian and Ubuntu) and installs this release of rootlesskube.
PACKAGES = ("python3", "python3-pip")
VENV = "%h/.local/share/rootlesskube/venv"
ROOTLESSKUBE_BIN = f"{VENV}/bin/rootlesskube"
PIP_REQUIREMENT = f"rootlesskube=={__version__}"
RECIPE_DRIVER = "kind"  # the tools a VM can install itself: kind and kubectl are pinned (`tools install`)

_DEVICE = re.compile(r"/dev/[A-Za-z0-9][A-Za-z0-9._:+@/-]*")
SSH_KEYS_LIMIT = 64 * 1024  # an authorized_keys file of a few hundred keys; a public key is under 1 KiB
SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                 "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


@dataclass(frozen=True)
class VmFile:
    path: str
    contents: str
    mode: int = 0o644
    owner: Optional[str] = None  # None: root


@dataclass(frozen=True)
class VmDir:
    path: str
    mode: int = 0o755
    owner: Optional[str] = None


@dataclass(frozen=True)
class VmLink:
    path: str
    target: str
    owner: Optional[str] = None


@dataclass
class VmConfig:
    user: str
    ssh_keys: Tuple[str, ...]
    data_disk: str
    files: List[VmFile] = field(default_factory=list)
    directories: List[VmDir] = field(default_factory=list)
    links: List[VmLink] = field(default_factory=list)
    user_dropin: str = ""  # a user@.service drop-in: the user's manager waits for the data volume
    packages: Tuple[str, ...] = ()  # distribution packages the VM must have before the user's manager starts

    @property
    def home(self) -> str:
        return f"/home/{self.user}"


def data_device(value: str) -> str:
    """An absolute /dev path (a disk, not a partition: the config partitions it)."""
    if not _DEVICE.fullmatch(value or "") or "/../" in value or value.endswith("/.."):
        raise UsageError(f"{value!r} is not a device path",
                         hint="give the data disk as an absolute /dev path, e.g. /dev/vdb or /dev/disk/by-id/...")
    return value


def read_ssh_keys(path: str) -> Tuple[str, ...]:
    """The public keys in an authorized_keys-style file; a private key or anything else is refused."""
    try:
        text = inputs.read_text(path, "SSH public key", limit=SSH_KEYS_LIMIT)
    except inputs.InputError as exc:
        raise UsageError(str(exc), hint="give the public key file, e.g. ~/.ssh/id_ed25519.pub") from None
    if "PRIVATE KEY" in text:
        raise UsageError(f"{path} is a private key; it must never leave this machine",
                         hint="give the public key instead (the same name with .pub)")
    keys = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise UsageError(f"{path} holds no SSH public key", hint="give a file such as ~/.ssh/id_ed25519.pub")
    for number, key in enumerate(keys, 1):
        if not _is_public_key(key):
            raise UsageError(f"{path}: key {number} is not an OpenSSH public key: {key[:40]!r}",
                             hint="each line must look like 'ssh-ed25519 AAAA... comment' (ssh-keygen -y -f KEY)")
    return tuple(dict.fromkeys(keys))


def _is_public_key(line: str) -> bool:
    """TYPE BASE64 [COMMENT], where the decoded blob starts with the same TYPE (OpenSSH's wire format)."""
    parts = line.split(None, 2)
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return False
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(blob) < 4:
        return False
    (length,) = struct.unpack(">I", blob[:4])
    return blob[4:4 + length] == parts[0].encode() and len(blob) > 4 + length


def recipe_name(name: str) -> str:
    """A shipped kind recipe without a lab: the VM has no copy of a local file, and installs only kind and kubectl."""
    from ..recipe.load import load, shipped

    usable = [n for n in shipped() if _runs_on_a_new_vm(load(n))]
    if name not in shipped():
        raise UsageError(f"no shipped recipe named {name!r}",
                         hint="a VM runs a recipe shipped with rootlesskube: " + ", ".join(usable))
    if name not in usable:
        raise UsageError(f"the recipe {name!r} cannot run on a new VM: it needs a {RECIPE_DRIVER} cluster and no "
                         "lab roster (the VM installs only the pinned kind and kubectl, and has no roster)",
                         hint="use one of: " + ", ".join(usable))
    return name


def _runs_on_a_new_vm(recipe) -> bool:
    return recipe.cluster.driver == RECIPE_DRIVER and recipe.lab is None


def vm_config(user: str = DEFAULT_USER, ssh_keys: Tuple[str, ...] = (), data_disk: str = DEFAULT_DATA_DISK,
              recipe: Optional[str] = None, pmm_image: Optional[str] = None,
              host_port: int = systemd_unit.DEFAULT_HOST_PORT, quadlet: bool = True,
              rootlesskube_from: str = PIP_REQUIREMENT) -> VmConfig:
    """PMM 3 as a Quadlet (Fedora CoreOS ships Podman 5) or a classic unit, or with RECIPE that recipe at first boot."""
    user = user_name(user)
    vm = VmConfig(user, ssh_keys, data_device(data_disk))
    port_start = None if recipe else (host_port if host_port < 1024 else None)
    vm.files += [VmFile(f.path, f.contents, f.mode) for f in host_files.host_files(user, port_start)]
    linger = host_files.linger_file(user)
    vm.files.append(VmFile(linger.path, linger.contents, linger.mode))
    # The user's units pull PMM's image or install rootlesskube: a user manager has no network-online.target
    # to wait for, so user@.service (a system unit) waits for it, and for the data volume.
    vm.user_dropin = (f"[Unit]\nRequiresMountsFor={DATA_MOUNT}\n"
                      "Wants=network-online.target\nAfter=network-online.target\n")
    if recipe:
        vm.packages = PACKAGES
    data_dir = f"{DATA_MOUNT}/{user}"
    vm.directories.append(VmDir(data_dir, 0o700, user))
    for sub in (".config", ".config/systemd", ".config/systemd/user"):
        vm.directories.append(VmDir(f"{vm.home}/{sub}", 0o755, user))
    units = f"{vm.home}/.config/systemd/user"
    if recipe:
        _add_recipe(vm, units, recipe_name(recipe), pip_requirement(rootlesskube_from))
    else:
        spec = systemd_unit.pmm_spec(pmm_image or systemd_unit.pmm.PMM3_IMAGE, f"{data_dir}/pmm", host_port)
        vm.directories.append(VmDir(f"{data_dir}/pmm", 0o700, user))
        if quadlet:
            for sub in (".config/containers", ".config/containers/systemd"):
                vm.directories.append(VmDir(f"{vm.home}/{sub}", 0o755, user))
            vm.files.append(VmFile(f"{vm.home}/.config/containers/systemd/{spec.name}.container",
                                   systemd_unit.quadlet(spec), 0o644, user))
        else:
            _enable(vm, units, f"{spec.name}.service", systemd_unit.classic_unit(spec))
        vm.files.append(VmFile(f"{units}/{systemd_unit.PASSWORD_UNIT}", systemd_unit.password_unit(), 0o644, user))
    return vm


def packages_unit(packages: Tuple[str, ...]) -> str:
    """A first-boot system unit layering PACKAGES with rpm-ostree, applied live (no reboot), once.

    As Fedora CoreOS documents for layering (os-extensions): after the network and machine-id commit,
    before zincati (no concurrent rpm-ostree transaction), a stamp file so it runs once.
    """
    stamp = "/var/lib/%N.stamp"
    install = ["/usr/bin/rpm-ostree", "install", "--apply-live", "--idempotent", "--allow-inactive", *packages]
    return (
        "[Unit]\n"
        f"Description=Layer {' '.join(packages)} for rootlesskube (rpm-ostree, applied live)\n"
        "Wants=network-online.target\n"
        "After=network-online.target systemd-machine-id-commit.service\n"
        "Before=zincati.service\n"
        f"ConditionPathExists=!{stamp}\n"
        "\n[Service]\n"
        "Type=oneshot\n"
        "RemainAfterExit=yes\n"
        "TimeoutStartSec=1800\n"
        f"ExecStart={systemd_unit.exec_line(install)}\n"
        f"ExecStart={systemd_unit.exec_line(['/usr/bin/touch', stamp])}\n"
        "\n[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def pip_requirement(value: str) -> str:
    """What pip installs rootlesskube from: a requirement, a wheel or sdist URL, or a VCS URL (one argv word)."""
    if not value or value.startswith("-") or any(c.isspace() for c in value) or "%" in value:
        raise UsageError(f"{value!r} is not something pip can install rootlesskube from",
                         hint="give a requirement (rootlesskube==0.1.0), a wheel URL or git+https://...; "
                              "no spaces, no leading '-', no '%'")
    return value


def recipe_unit(recipe: str, requirement: str = PIP_REQUIREMENT) -> str:
    """A user unit that installs rootlesskube into a venv and runs `rootlesskube run RECIPE`, once.

    Python comes from the distribution (PACKAGES); user@.service waits for the network (and on Fedora
    CoreOS for the layering unit) before this user's manager starts. Delegate=yes: kind reads the
    cgroup controllers of the process that runs podman.
    """
    done = f"%h/.local/state/rootlesskube/first-boot-{recipe}.done"
    steps = [
        ["/usr/bin/python3", "-m", "venv", "--system-site-packages", "--without-pip", VENV],
        [f"{VENV}/bin/python3", "-m", "pip", "install", "--disable-pip-version-check", requirement],
        [ROOTLESSKUBE_BIN, "tools", "install", "kind", "kubectl"],
    ]
    return (
        "[Unit]\n"
        f"Description=rootlesskube run {recipe}, once, at first boot\n"
        f"ConditionPathExists=!{done}\n"
        "AssertFileIsExecutable=/usr/bin/python3\n"
        "\n[Service]\n"
        "Type=oneshot\n"
        "Delegate=yes\n"
        "TimeoutStartSec=3600\n"
        + "".join(f"ExecStartPre={systemd_unit.exec_line(argv)}\n" for argv in steps)
        + f"ExecStart={systemd_unit.exec_line([ROOTLESSKUBE_BIN, 'run', recipe])}\n"
        f"ExecStartPost={systemd_unit.exec_line(['/usr/bin/mkdir', '-p', '%h/.local/state/rootlesskube'])}\n"
        f"ExecStartPost={systemd_unit.exec_line(['/usr/bin/touch', done])}\n"
        "\n[Install]\n"
        "WantedBy=default.target\n"
    )


def _add_recipe(vm: VmConfig, units: str, recipe: str, requirement: str) -> None:
    _enable(vm, units, RECIPE_UNIT, recipe_unit(recipe, requirement))


def _enable(vm: VmConfig, units: str, name: str, text: str) -> None:
    """A user unit and the link `systemctl --user enable` would make (WantedBy=default.target)."""
    vm.directories.append(VmDir(f"{units}/default.target.wants", 0o755, vm.user))
    vm.files.append(VmFile(f"{units}/{name}", text, 0o644, vm.user))
    vm.links.append(VmLink(f"{units}/default.target.wants/{name}", f"../{name}", vm.user))
