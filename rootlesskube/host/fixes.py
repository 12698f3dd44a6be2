"""The fix text of each check: the exact commands for this distribution.

The distribution (and its package-manager family) is read with `distro` from
the view's /etc/os-release, so `--host-root` gets the image's commands. Fixes
that change the system say "as root" and name `sudo /usr/local/sbin/rootlesskube-host-setup
apply` (the root part, installed root-owned as README.md says), which performs
the same change; the file names below are the ones host_setup writes, so doing
it by hand and doing it with host_setup agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

# the files host_setup writes: its pure content module is the one place they are named
from .content import (  # noqa: F401  (re-exported for the checks)
    CGROUP_V2_WITHOUT_SYSTEMD,
    DELEGATE_CONF,
    MODULES_LOAD_CONF,
    SYSCTL_CONF,
    UDEV_RULES,
    apparmor_profile,
    apparmor_profile_name,
    cgroup_v2_kernel_args,
    device_udev_line,
)
from .view import HostView

# the root part, installed root-owned (README.md, "Preparing the host"); named by its full path because
# sudo's secure_path lacks /usr/local/sbin on some distributions (RHEL, older Fedora)
ROOT_VENV = "/opt/rootlesskube"
ROOT_LINK = "/usr/local/sbin/rootlesskube-host-setup"
ROOT_INSTALL = (f"sudo python3 -m venv {ROOT_VENV} && sudo {ROOT_VENV}/bin/pip install . "
                f"&& sudo ln -sf {ROOT_VENV}/bin/rootlesskube-host-setup /usr/local/sbin/")
HOST_SETUP = f"sudo {ROOT_LINK} apply"

RELOGIN = "Then log out and back in (or run `loginctl terminate-user {user}` as root); a reboot also works."
REBOOT = "Then reboot: kernel command-line changes take effect only at boot."

FAMILIES = ("apt", "dnf", "zypper", "pacman")
_FAMILY_OF = {
    "debian": "apt", "ubuntu": "apt", "linuxmint": "apt", "pop": "apt", "raspbian": "apt",
    "fedora": "dnf", "rhel": "dnf", "centos": "dnf", "rocky": "dnf", "almalinux": "dnf", "ol": "dnf",
    "amzn": "dnf",
    "opensuse": "zypper", "opensuse-leap": "zypper", "opensuse-tumbleweed": "zypper", "sles": "zypper",
    "suse": "zypper",
    "arch": "pacman", "manjaro": "pacman", "endeavouros": "pacman",
}
_INSTALL = {
    "apt": ["apt-get", "install", "-y"],
    "dnf": ["dnf", "install", "-y"],
    "zypper": ["zypper", "--non-interactive", "install"],
    "pacman": ["pacman", "-S", "--needed", "--noconfirm"],
}
# a package name per family, for each program or feature the doctor can find missing
PACKAGES: Dict[str, Dict[str, str]] = {
    "newuidmap": {"apt": "uidmap", "dnf": "shadow-utils", "zypper": "shadow", "pacman": "shadow"},
    "podman": {"apt": "podman", "dnf": "podman", "zypper": "podman", "pacman": "podman"},
    "slirp4netns": {"apt": "slirp4netns", "dnf": "slirp4netns", "zypper": "slirp4netns", "pacman": "slirp4netns"},
    "pasta": {"apt": "passt", "dnf": "passt", "zypper": "passt", "pacman": "passt"},
    "fuse-overlayfs": {"apt": "fuse-overlayfs", "dnf": "fuse-overlayfs", "zypper": "fuse-overlayfs",
                       "pacman": "fuse-overlayfs"},
    "make": {"apt": "make", "dnf": "make", "zypper": "make", "pacman": "make"},
    "jq": {"apt": "jq", "dnf": "jq", "zypper": "jq", "pacman": "jq"},
    "podman-compose": {"apt": "podman-compose", "dnf": "podman-compose", "zypper": "podman-compose",
                       "pacman": "podman-compose"},
}
DOWNLOADS = {
    "kind": "https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "minikube": "https://minikube.sigs.k8s.io/docs/start/",
    "kubectl": "https://kubernetes.io/docs/tasks/tools/",
}


# tools whose distribution packages are too old somewhere (Debian 12: podman-compose 1.0.3): installed
# by the user, no root needed; the first line is rootlesskube's own install, which the driver then uses
USER_INSTALLS = {
    "podman-compose": ("rootlesskube tools install podman-compose   (a current release in a venv under the data "
                       "directory, pinned with hashes; the usernetes driver uses it before the one on PATH)",
                       "or: pipx install podman-compose   (then make sure ~/.local/bin comes first on PATH)"),
}


def user_install(tool: str) -> str:
    first, *others = USER_INSTALLS[tool]
    return "\n".join([f"as the user: {first}", *others])


@dataclass(frozen=True)
class Distro:
    id: str
    name: str
    version: str
    family: Optional[str]  # one of FAMILIES, None when unknown


def detect(view: HostView) -> Distro:
    """The distribution of the view, read from its /etc/os-release (no lsb_release, no uname)."""
    import distro  # imported lazily: start-up time counts

    info = distro.LinuxDistribution(
        root_dir=str(view.root), include_lsb=False, include_uname=False, include_oslevel=False
    )
    ident = info.id() or "linux"
    family = _FAMILY_OF.get(ident)
    for like in info.like().split():
        family = family or _FAMILY_OF.get(like)
    return Distro(ident, info.name(pretty=True) or ident, info.version(), family)


def _join(argv: Sequence[str]) -> str:
    import shlex

    return shlex.join(argv)


def quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


def install_argv(family: str, programs: Iterable[str]) -> List[str]:
    """The package manager's install argv for these programs (package names per family)."""
    packages: List[str] = []
    for program in programs:
        package = PACKAGES.get(program, {}).get(family, program)
        if package not in packages:
            packages.append(package)
    return [*_INSTALL[family], *packages]


def install_command(distro: Distro, programs: Iterable[str]) -> str:
    """`apt-get install -y uidmap ...` for this family, or a sentence when the family is unknown."""
    programs = list(programs)
    if distro.family is None:
        return ("install " + ", ".join(programs) + " with your distribution's package manager "
                f"({distro.name} is not one rootlesskube knows)")
    return _join(install_argv(distro.family, programs))


def as_root(commands: Sequence[str], note: Optional[str] = None, host_setup: bool = True,
            switches: Sequence[str] = ()) -> str:
    """A fix that changes the system: host_setup first (with the switches its apply needs), then by hand."""
    apply = " ".join([HOST_SETUP, *switches])
    head = f"{apply}   (as root; does the following for you)\nor by hand, as root:" if host_setup \
        else "as root:"
    lines = [head, *("  " + c for c in commands)]
    if note:
        lines.append(note)
    return "\n".join(lines)


def as_user(commands: Sequence[str], note: Optional[str] = None) -> str:
    lines = ["as the user:", *("  " + c for c in commands)]
    if note:
        lines.append(note)
    return "\n".join(lines)


def install(distro: Distro, programs: Iterable[str], note: Optional[str] = None) -> str:
    return as_root([install_command(distro, programs)], note, host_setup=False)


def sysctl(settings: Mapping[str, str], note: Optional[str] = None) -> str:
    lines = [f"echo '{key} = {value}' >> {SYSCTL_CONF}" for key, value in settings.items()]
    return as_root([*lines, "sysctl --system"], note)


def modules(names: Sequence[str]) -> str:
    listed = " ".join(names)
    return as_root(
        [f"printf '%s\\n' {listed} >> {MODULES_LOAD_CONF}", f"modprobe -a {listed}"],
        "modules-load.d loads them again at every boot.",
    )


def kernel_arguments(distro: Distro, args: Sequence[str], note: Optional[str] = None) -> str:
    """Add kernel command-line arguments the way this family does it, then reboot."""
    joined = " ".join(args)
    if distro.family == "dnf":
        commands = [f'grubby --update-kernel=ALL --args="{joined}"']
    else:
        regen = {
            "apt": "update-grub",
            "zypper": "grub2-mkconfig -o /boot/grub2/grub.cfg",
            "pacman": "grub-mkconfig -o /boot/grub/grub.cfg",
        }.get(distro.family or "", "regenerate your boot loader's configuration")
        commands = [f'add {joined} to GRUB_CMDLINE_LINUX in /etc/default/grub', regen]
    text = as_root(commands, REBOOT, switches=["--kernel-cmdline"])  # apply edits the boot loader only when asked
    return text + ("\n" + note if note else "")


def delegate_conf(controllers: Sequence[str], user: str) -> str:
    listed = " ".join(controllers)
    return as_root(
        [
            "mkdir -p /etc/systemd/system/user@.service.d",
            f"printf '[Service]\\nDelegate={listed}\\n' > {DELEGATE_CONF}",
            "systemctl daemon-reload",
        ],
        RELOGIN.format(user=user),
    )


def subids(user: str, start: int, count: int) -> str:
    last = start + count - 1
    return as_root(
        [f"usermod --add-subuids {start}-{last} --add-subgids {start}-{last} {user}"],
        f"Then, as {user}: podman system migrate   (so Podman picks up the new range)",
    )


def linger(user: str) -> str:
    return as_root([f"loginctl enable-linger {user}"], "Without it the cluster stops when the last session ends.")


def device_mode(device: str, module: str) -> str:
    """modprobe, chmod 0666 and the udev rule host_setup writes (its content module: one copy)."""
    return as_root(
        [f"modprobe {module}", f"chmod 0666 {device}",
         f"echo {quote(device_udev_line(module))} > {UDEV_RULES[module]}"],
        "The udev rule keeps the mode after a reboot.",
    )


def run_as_a_user(name: str) -> str:
    """The podman.rootless fix: rootless Podman and the clusters on it run as an unprivileged user."""
    if name == "root":
        return ("rootlesskube never runs a cluster as root: run it as an unprivileged user "
                f"(as root: useradd -m NAME; {ROOT_LINK} apply --user NAME; then ssh NAME@localhost)")
    return f"run rootlesskube as {name}, not as root (e.g. ssh {name}@localhost)"


def login_session(user: str) -> str:
    if user == "root":  # a login session of root is no use: the cluster runs as an unprivileged user
        return run_as_a_user(user) + "\n(the same fix as podman.rootless: the session checks then apply to that user)"
    return as_user(
        [f"ssh {user}@localhost   (or: machinectl shell {user}@)",
         "or wrap the command: systemd-run --user --scope -p Delegate=yes rootlesskube run"],
        "su and sudo keep the caller's session: no XDG_RUNTIME_DIR, no user cgroup of your own.",
    )
