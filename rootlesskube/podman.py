"""The rootless Podman facade: every podman call of rootlesskube goes through here.

Podman runs as the invoking user. Options come from configuration, not from
code: podman reads the user's containers.conf itself (runtime, network
command, ...); ROOTLESSKUBE_PODMAN_RUNTIME overrides the OCI runtime (hosts
where crun cannot run, such as hybrid cgroups, need runc).

Outputs are parsed as ../shared/contracts/podman/ records them (podman 5.x)
and as Debian 12's podman 4.3 prints them. A failure (`Error: ...`, exit 125)
becomes a PodmanError carrying podman's message and a hint.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import UsageError
from .proc import IdMap, IdMapEntry, parse_id_map
from .run import CommandError, Result, run

DEFAULT_TIMEOUT = 120.0
RUNTIME_ENV = "ROOTLESSKUBE_PODMAN_RUNTIME"
# podman's own rule for container names (libpod/define: NameRegex); ids are hex, so they match too.
_CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_IMAGE_REF = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.:/@+-]*")
_ERROR_LINE = re.compile(r"^Error: (.*)$", re.MULTILINE)

NOT_FOUND_PATTERNS = ("no such container", "no such object", "no container with name or id")
IMAGE_NOT_FOUND_PATTERNS = ("image not known", "no such image")
# (substring of podman's stderr, lower-case) -> hint
HINTS: Tuple[Tuple[str, str], ...] = (
    ("no such container", "list the containers with `podman ps -a`; the name is case-sensitive"),
    ("no such object", "list the containers with `podman ps -a`; the name is case-sensitive"),
    ("no container with name or id", "list the containers with `podman ps -a`; the name is case-sensitive"),
    ("image not known", "list the images with `podman images`; import or pull the image first"),
    ("no such image", "list the images with `podman images`; import or pull the image first"),
    ("please use unshare with rootless",
     "podman is running as root; rootlesskube needs rootless Podman: run it as your unprivileged user"),
    ("cgroups in hybrid mode not supported",
     'crun refuses hybrid cgroups; use runc: set runtime = "runc" under [engine] in '
     f"~/.config/containers/containers.conf, or export {RUNTIME_ENV}=runc"),
    ("oci runtime", f"check the OCI runtime: `podman info` shows it; {RUNTIME_ENV} or containers.conf selects it"),
    ("no subuid ranges found", "give the user subordinate ids in /etc/subuid and /etc/subgid "
     "(`rootlesskube doctor` prints the command), then run `podman system migrate`"),
    ("no subgid ranges found", "give the user subordinate ids in /etc/subuid and /etc/subgid "
     "(`rootlesskube doctor` prints the command), then run `podman system migrate`"),
    ("insufficient uids or gids", "the user's /etc/subuid or /etc/subgid range is too small (65536 ids are "
     "needed); fix it, then run `podman system migrate`"),
    ("newuidmap", "rootless Podman needs newuidmap/newgidmap (package uidmap) and subordinate ids; "
     "`rootlesskube doctor` shows what is missing"),
    ("/dev/net/tun", "slirp4netns needs /dev/net/tun readable and writable by the user (mode 0666)"),
    ("xdg_runtime_dir", "set XDG_RUNTIME_DIR to a directory that belongs to you (a login session creates "
     "/run/user/$UID)"),
)


class PodmanError(CommandError):
    """A podman command failed; `podman_message` is podman's own `Error: ...` text."""

    @classmethod
    def from_command_error(cls, exc: CommandError) -> "PodmanError":
        lower = exc.stderr.lower()
        kind = cls
        if any(p in lower for p in NOT_FOUND_PATTERNS):
            kind = ContainerNotFound
        elif any(p in lower for p in IMAGE_NOT_FOUND_PATTERNS):
            kind = ImageNotFound
        hint = next((h for pattern, h in HINTS if pattern in lower), exc.hint)
        error = kind(exc.argv, exc.returncode, exc.stdout, exc.stderr, hint=hint)
        return error

    @property
    def podman_message(self) -> str:
        """The last `Error: ...` line (podman prints its first error last), else the stderr tail."""
        found = _ERROR_LINE.findall(self.stderr)
        return found[-1].strip() if found else self.stderr.strip()


class ContainerNotFound(PodmanError):
    pass


class ImageNotFound(PodmanError):
    pass


@dataclass(frozen=True)
class PodmanInfo:
    """The facts of `podman info --format json` that rootlesskube uses."""

    version: str
    rootless: bool
    cgroup_version: str  # "v1" | "v2"
    cgroup_manager: str  # "systemd" | "cgroupfs"
    cgroup_controllers: Tuple[str, ...]
    oci_runtime: str
    oci_runtime_path: str
    uid_map: IdMap  # empty when rootful (podman prints null)
    gid_map: IdMap
    network_cmd: Optional[str]  # "pasta" | "slirp4netns"; None when rootful
    network_backend: str  # "netavark" | "cni"
    storage_driver: str
    graph_root: str
    raw: Mapping = field(repr=False, compare=False, default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "version": self.version,
            "rootless": self.rootless,
            "cgroup_version": self.cgroup_version,
            "cgroup_manager": self.cgroup_manager,
            "cgroup_controllers": list(self.cgroup_controllers),
            "oci_runtime": self.oci_runtime,
            "oci_runtime_path": self.oci_runtime_path,
            "uid_map": [e.as_text() for e in self.uid_map],
            "gid_map": [e.as_text() for e in self.gid_map],
            "network_cmd": self.network_cmd,
            "network_backend": self.network_backend,
            "storage_driver": self.storage_driver,
            "graph_root": self.graph_root,
        }


def parse_info(text: str) -> PodmanInfo:
    data = json.loads(text)
    host = data["host"]
    version = data.get("version", {}).get("Version", "")
    rootless = bool(host.get("security", {}).get("rootless"))
    mappings = host.get("idMappings") or {}
    runtime = host.get("ociRuntime") or {}
    return PodmanInfo(
        version=version,
        rootless=rootless,
        cgroup_version=host.get("cgroupVersion", ""),
        cgroup_manager=host.get("cgroupManager", ""),
        cgroup_controllers=tuple(host.get("cgroupControllers") or ()),
        oci_runtime=runtime.get("name", ""),
        oci_runtime_path=runtime.get("path", ""),
        uid_map=_id_mappings(mappings.get("uidmap")),
        gid_map=_id_mappings(mappings.get("gidmap")),
        network_cmd=_network_cmd(host, version, rootless),
        network_backend=host.get("networkBackend", ""),
        storage_driver=data.get("store", {}).get("graphDriverName", ""),
        graph_root=data.get("store", {}).get("graphRoot", ""),
        raw=data,
    )


def _id_mappings(entries) -> IdMap:
    return tuple(IdMapEntry(e["container_id"], e["host_id"], e["size"]) for e in entries or ())


def _network_cmd(host: Mapping, version: str, rootless: bool) -> Optional[str]:
    if not rootless:
        return None
    if host.get("rootlessNetworkCmd"):
        return host["rootlessNetworkCmd"]
    # podman < 5 does not report it; its built-in default was slirp4netns (5.0 made pasta the default).
    major = version.split(".", 1)[0]
    return "slirp4netns" if major.isdigit() and int(major) < 5 else None


def parse_top(text: str) -> List[Dict[str, str]]:
    """Rows of `podman top` as {HEADER: value}; columns start where their header starts.

    The last column (COMMAND) may contain spaces, so columns are cut at the
    header's offsets rather than split on whitespace.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    rows = []
    for line in lines[1:]:
        cells = [line[start:end].strip() for start, end in zip(starts, starts[1:] + [len(line)])]
        rows.append(dict(zip(names, cells)))
    return rows


def container_ref(value: str) -> str:
    """A container name or id, checked before it reaches argv."""
    if not isinstance(value, str) or not _CONTAINER_NAME.fullmatch(value):
        raise UsageError(
            f"{value!r} is not a valid container name or id",
            hint="use letters, digits, '_', '.' and '-', starting with a letter or digit (see `podman ps -a`)",
        )
    return value


def image_ref(value: str) -> str:
    if not isinstance(value, str) or not _IMAGE_REF.fullmatch(value):
        raise UsageError(
            f"{value!r} is not a valid image reference",
            hint="use a reference such as localhost/name:tag or docker.io/library/name:tag",
        )
    return value


class Podman:
    """Rootless Podman as the invoking user; one method per podman operation we use."""

    def __init__(self, binary: str = "podman", runtime: Optional[str] = None,
                 extra_args: Sequence[str] = (), timeout: float = DEFAULT_TIMEOUT):
        self.binary = binary
        self.runtime = runtime if runtime is not None else (os.environ.get(RUNTIME_ENV) or None)
        self.extra_args = tuple(extra_args)
        self.timeout = timeout

    def argv(self, *args: str) -> List[str]:
        runtime = ["--runtime", self.runtime] if self.runtime else []
        return [self.binary, *runtime, *self.extra_args, *args]

    def call(self, *args: str, timeout: Optional[float] = None, check: bool = True, **kwargs) -> Result:
        """Run `podman ARGS`; a failure becomes a PodmanError with a hint."""
        try:
            return run(
                self.argv(*args), timeout=timeout or self.timeout, check=check,
                not_found_hint="install Podman (Debian/Ubuntu: apt-get install podman)", **kwargs,
            )
        except CommandError as exc:
            if exc.returncode is None:  # not found, could not start, timed out: nothing of podman's to read
                raise
            raise PodmanError.from_command_error(exc) from None

    # --- the engine ---
    def version(self) -> str:
        return json.loads(self.call("version", "--format", "json").stdout)["Client"]["Version"]

    def info(self) -> PodmanInfo:
        return parse_info(self.call("info", "--format", "json").stdout)

    def unshare_uid_map(self) -> IdMap:
        """The uid map of the user's rootless namespace (fails with a hint when podman is rootful)."""
        return parse_id_map(self.call("unshare", "cat", "/proc/self/uid_map").stdout)

    # --- images ---
    def image_exists(self, ref: str) -> bool:
        result = self.call("image", "exists", image_ref(ref), check=False)
        if result.returncode in (0, 1):
            return result.returncode == 0
        raise PodmanError.from_command_error(
            CommandError(result.argv, result.returncode, result.stdout, result.stderr))

    def image_inspect(self, ref: str) -> dict:
        """`podman image inspect REF`: Id (the digest of its config, 64 hex digits), RepoTags, ...;
        ImageNotFound when it is not in the store."""
        found = json.loads(self.call("image", "inspect", image_ref(ref)).stdout or "[]")
        return found[0] if found else {}

    def save(self, ref: str, archive: str, timeout: float = 900, on_line=None) -> None:
        """Write a docker-archive (what `kind load image-archive` reads) to a real file."""
        self.call("save", "--format", "docker-archive", "--output", str(archive), image_ref(ref), timeout=timeout,
                  on_line=on_line)

    def import_(self, archive: str, ref: str, timeout: float = 900) -> None:
        self.call("import", str(archive), image_ref(ref), timeout=timeout)

    def pull(self, ref: str, timeout: float = 1800, on_line=None, cancel=None) -> None:
        """`podman pull REF`; setting the `cancel` event (a threading.Event) stops it."""
        from .image_progress import CopyProgress

        self.call("pull", image_ref(ref), timeout=timeout, on_line=CopyProgress(chained=on_line), cancel=cancel)

    # --- containers ---
    def run(self, image: str, command: Sequence[str] = (), *, name: Optional[str] = None,
            labels: Optional[Mapping[str, str]] = None, user: Optional[str] = None,
            options: Sequence[str] = ()) -> str:
        """Start a detached container; returns its id."""
        args = ["run", "--detach"]
        if name is not None:
            args += ["--name", container_ref(name)]
        for key, value in (labels or {}).items():
            args += ["--label", f"{key}={value}"]
        if user is not None:
            args += ["--user", user]
        args += [*options, image_ref(image), *command]
        return self.call(*args).stdout.strip()

    def inspect(self, container: str) -> dict:
        """`podman container inspect` of one container; ContainerNotFound when there is none."""
        return json.loads(self.call("container", "inspect", container_ref(container)).stdout)[0]

    def top(self, container: str, *descriptors: str) -> List[Dict[str, str]]:
        descriptors = descriptors or ("huser", "user", "pid", "args")
        return parse_top(self.call("top", container_ref(container), *descriptors).stdout)

    def ps(self, labels: Optional[Mapping[str, str]] = None, all: bool = True) -> List[dict]:
        args = ["ps", "--format", "json"] + (["--all"] if all else [])
        for key, value in (labels or {}).items():
            args += ["--filter", f"label={key}={value}" if value else f"label={key}"]
        return json.loads(self.call(*args).stdout or "[]")

    def rm(self, container: str, force: bool = True) -> None:
        self.call("rm", *(["--force"] if force else []), container_ref(container))
