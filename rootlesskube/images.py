"""Images from the user's Podman store into every node of a cluster, skipping what the nodes already hold.

A node holds an image when it has its id under its name (the kubelet finds an
image by name: the same id under another name is loaded again, which adds the
name). An image is the same image when its id is: Podman's image id is the digest of
the image's config, and so is the id the node's container runtime reports for
it. kind's own `load docker-image` compares exactly these two (the engine's
`image inspect -f {{ .Id }}` with `crictl inspecti`'s status.id;
pkg/cmd/kind/load/docker-image/docker-image.go and pkg/cluster/nodeutils/util.go,
kubernetes-sigs/kind@cda67ef, v0.32.0); containerd's CRI takes an image's id
from its config descriptor (internal/cri/store/image/image.go: `id :=
desc.Digest.String()`), and importing a docker-archive stores the config file
by the digest of its bytes (core/images/archive/importer.go), so a `podman
save --format docker-archive` keeps the id (containerd/containerd@301026e).

The nodes are asked with `crictl images -o json` inside each node container
(`podman exec`), the listing minikube itself reads (`sudo crictl images
--output json`, pkg/minikube/cruntime/cri.go, kubernetes/minikube@c93a4cb,
v1.38.1) and that kind's and Usernetes' nodes (kindest/node based) carry.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Set, Tuple

from . import image_progress, paths
from .errors import UsageError

if TYPE_CHECKING:
    from .drivers.base import Driver

SKIPPED = "every node holds this id under this name"
_HEX_ID = re.compile(r"(?:sha256:)?([0-9a-f]{64})")
LIST_TIMEOUT = 60.0


def normal_id(value: str) -> Optional[str]:
    """"sha256:<64 hex>" or "<64 hex>" -> the 64 hex digits; anything else -> None."""
    match = _HEX_ID.fullmatch(value.strip()) if isinstance(value, str) else None
    return match.group(1) if match else None


Held = Dict[str, Set[str]]  # image id (64 hex digits) -> the names (repo tags) it has there


def parse_crictl_images(text: str) -> Held:
    """The images of `crictl images -o json` ({"images": [{"id": "sha256:...", "repoTags": [...]}, ...]})."""
    data = json.loads(text or "{}")
    found: Held = {}
    for image in (data.get("images") or []) if isinstance(data, dict) else []:
        value = normal_id(image.get("id", "")) if isinstance(image, dict) else None
        if value:
            tags = image.get("repoTags") or []
            found.setdefault(value, set()).update(t for t in tags if isinstance(t, str))
    return found


def node_images(node: str) -> Optional[Held]:
    """The images one node container holds; None when the node cannot be asked (not running, no crictl)."""
    from .podman import Podman, PodmanError

    try:
        result = Podman().call("exec", node, "crictl", "images", "-o", "json", check=False, timeout=LIST_TIMEOUT)
    except PodmanError:
        return None
    if result.returncode != 0:
        return None
    try:
        return parse_crictl_images(result.stdout)
    except ValueError:
        return None


def held_on_every_node(nodes: Iterable[str]) -> Held:
    """The ids every node holds, each with the names it has on every node (a node that cannot be asked holds
    nothing, so the image is loaded)."""
    common: Optional[Held] = None
    for node in nodes:
        held = node_images(node) or {}
        common = held if common is None else {i: common[i] & held[i] for i in common.keys() & held.keys()}
    return common or {}


def holds(held: Held, image_id: str, names: Iterable[str]) -> bool:
    """Every node holds this id under one of these names (the same id under another name is not enough: the
    kubelet finds an image by its name; kind re-tags in that case, pkg/cmd/kind/load/docker-image @cda67ef)."""
    wanted = set(names)
    return image_id in held and (not wanted or bool(wanted & held[image_id]))


def store_names(ref: str, repo_tags: Iterable[str]) -> Set[str]:
    """The names Podman gives REF (what `podman save` writes into the archive, and so the node's name for it):
    its repo tags that are REF itself or end with /REF (a short name; `:latest` when REF has no tag)."""
    last = ref.rsplit("/", 1)[-1]
    full = ref if ("@" in ref or ":" in last) else f"{ref}:latest"
    return {t for t in repo_tags if t in (ref, full) or t.endswith("/" + full)} or {ref}


@dataclass
class ImageResult:
    image: str
    id: str
    action: str  # "loaded" | "skipped"
    why: str = ""


@dataclass
class LoadReport:
    cluster: str
    driver: str
    images: List[ImageResult] = field(default_factory=list)

    @property
    def loaded(self) -> List[str]:
        return [r.image for r in self.images if r.action == "loaded"]

    @property
    def skipped(self) -> List[str]:
        return [r.image for r in self.images if r.action == "skipped"]

    def as_dict(self) -> dict:
        return {"cluster": self.cluster, "driver": self.driver, "loaded": self.loaded, "skipped": self.skipped,
                "images": [asdict(r) for r in self.images]}


def require_running(driver: "Driver", cluster: str) -> None:
    """Images go into running nodes: a stopped cluster is named as such, with the command that starts it."""
    from .drivers import nodes
    from .errors import RootlesskubeError

    state = nodes.summary(driver.node_states(cluster))
    if state == "running":
        return
    if state == "degraded":
        why = "some of its node containers are not running"
    elif state == "stopped" or driver.stop_removes_containers:
        why = "it is stopped"
    else:
        why = "it has no node containers"
    raise RootlesskubeError(f"cannot load images into cluster {cluster!r}: {why}",
                            hint=f"`rootlesskube start --name {cluster}` starts it; `rootlesskube status` shows it")


def archive_path(ref: str) -> Path:
    folder = paths.private_dir(paths.data_dir() / "images")
    return folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", ref) + ".tar")


@dataclass(frozen=True)
class LocalImage:
    ref: str
    id: str
    names: Tuple[str, ...]  # what the nodes call it once loaded


def local_images(refs: Iterable[str], podman=None) -> Dict[str, LocalImage]:
    """Each image's id and names in the user's store; exit 2 (before anything is loaded) for one not there."""
    from .podman import ImageNotFound, Podman, image_ref

    podman = podman or Podman()
    found: Dict[str, LocalImage] = {}
    for ref in refs:
        image_ref(ref)
        try:
            info = podman.image_inspect(ref)
        except ImageNotFound:
            info = {}
        image_id = normal_id(str(info.get("Id", "")))
        if image_id is None:
            raise UsageError(f"the image {ref} is not in your Podman store",
                             hint=f"pull it (`podman pull {ref}`) or build it (`podman build -t {ref} .`) first")
        found[ref] = LocalImage(ref, image_id, tuple(sorted(store_names(ref, info.get("RepoTags") or []))))
    return found


MANIFEST_LIMIT = 1 << 20
CONFIG_LIMIT = 16 << 20


def archive_image(archive: Path) -> Optional[Tuple[str, Tuple[str, ...]]]:
    """The id and names of the one image in a docker-archive: the sha256 of the config file its manifest.json
    names (what containerd's import and Podman's store call the image's id) and its RepoTags; None when it
    cannot be told."""
    import hashlib
    import tarfile

    try:
        with tarfile.open(archive, "r:") as tar:
            manifest = tar.getmember("manifest.json")
            if not manifest.isfile() or manifest.size > MANIFEST_LIMIT:
                return None
            entries = json.loads(tar.extractfile(manifest).read())  # type: ignore[union-attr]
            if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
                return None
            config = tar.getmember(str(entries[0].get("Config", "")))
            if not config.isfile() or config.size > CONFIG_LIMIT:
                return None
            tags = entries[0].get("RepoTags") or []
            names = tuple(sorted(t for t in tags if isinstance(t, str)))
            return hashlib.sha256(tar.extractfile(config).read()).hexdigest(), names  # type: ignore[union-attr]
    except (OSError, KeyError, ValueError, tarfile.TarError):
        return None


def load_archive(driver: "Driver", cluster: str, archive: Path) -> LoadReport:
    """A docker-archive the user gave: loaded unless every node holds its image (same id, each of its names)."""
    found = archive_image(archive)
    report = LoadReport(cluster, driver.name)
    if found is not None:
        image_id, names = found
        held = driver.held_images(cluster)
        if all(holds(held, image_id, [name]) for name in names) if names else image_id in held:
            report.images.append(ImageResult(str(archive), image_id, "skipped", SKIPPED))
            return report
    driver.load_image(cluster, archive)
    report.images.append(ImageResult(str(archive), found[0] if found else "", "loaded"))
    return report


def load(driver: "Driver", cluster: str, refs: List[str], podman=None,
         local: Optional[Dict[str, LocalImage]] = None) -> LoadReport:
    """Put each image into every node of the cluster, unless every node already holds it (same id, same name)."""
    from .podman import Podman

    podman = podman or Podman()
    local = local if local is not None else local_images(refs, podman)
    held = driver.held_images(cluster)
    report = LoadReport(cluster, driver.name)
    for ref in dict.fromkeys(refs):
        image = local[ref]
        if holds(held, image.id, image.names):
            report.images.append(ImageResult(ref, image.id, "skipped", SKIPPED))
            continue
        archive = archive_path(ref)
        podman.save(ref, str(archive), on_line=image_progress.CopyProgress())  # podman prints a line per layer
        try:
            driver.load_image(cluster, archive)
        finally:
            if archive.exists():
                archive.unlink()  # the user's store keeps the image; the archive was only the way in
        held.setdefault(image.id, set()).update(image.names)
        report.images.append(ImageResult(ref, image.id, "loaded"))
    return report
