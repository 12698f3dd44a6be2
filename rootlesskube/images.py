"""Images from the user's Podman store into every node of a cluster, skipping what the nodes already hold.

An image is the same image when its id is: Podman's image id is the digest of
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
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Set

from . import paths
from .errors import UsageError

if TYPE_CHECKING:
    from .drivers.base import Driver

_HEX_ID = re.compile(r"(?:sha256:)?([0-9a-f]{64})")
LIST_TIMEOUT = 60.0


def normal_id(value: str) -> Optional[str]:
    """"sha256:<64 hex>" or "<64 hex>" -> the 64 hex digits; anything else -> None."""
    match = _HEX_ID.fullmatch(value.strip()) if isinstance(value, str) else None
    return match.group(1) if match else None


def parse_crictl_images(text: str) -> Set[str]:
    """The image ids of `crictl images -o json` ({"images": [{"id": "sha256:...", ...}]})."""
    data = json.loads(text or "{}")
    found = set()
    for image in (data.get("images") or []) if isinstance(data, dict) else []:
        value = normal_id(image.get("id", "")) if isinstance(image, dict) else None
        if value:
            found.add(value)
    return found


def node_image_ids(node: str) -> Optional[Set[str]]:
    """The image ids one node container holds; None when the node cannot be asked (not running, no crictl)."""
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


def ids_on_every_node(nodes: Iterable[str]) -> Set[str]:
    """The ids every node holds (a node that cannot be asked holds nothing, so the image is loaded)."""
    common: Optional[Set[str]] = None
    for node in nodes:
        held = node_image_ids(node) or set()
        common = held if common is None else common & held
    return common or set()


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


def archive_path(ref: str) -> Path:
    folder = paths.private_dir(paths.data_dir() / "images")
    return folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", ref) + ".tar")


def local_ids(refs: Iterable[str], podman=None) -> Dict[str, str]:
    """Each image's id in the user's store; exit 2 (before anything is loaded) for one that is not there."""
    from .podman import ImageNotFound, Podman, image_ref

    podman = podman or Podman()
    ids: Dict[str, str] = {}
    for ref in refs:
        image_ref(ref)
        try:
            found = normal_id(podman.image_id(ref))
        except ImageNotFound:
            found = None
        if found is None:
            raise UsageError(f"the image {ref} is not in your Podman store",
                             hint=f"pull it (`podman pull {ref}`) or build it (`podman build -t {ref} .`) first")
        ids[ref] = found
    return ids


MANIFEST_LIMIT = 1 << 20
CONFIG_LIMIT = 16 << 20


def archive_id(archive: Path) -> Optional[str]:
    """The id of the one image in a docker-archive: the sha256 of the config file its manifest.json names
    (what containerd's import and Podman's store call the image's id); None when it cannot be told."""
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
            return hashlib.sha256(tar.extractfile(config).read()).hexdigest()  # type: ignore[union-attr]
    except (OSError, KeyError, ValueError, tarfile.TarError):
        return None


def load_archive(driver: "Driver", cluster: str, archive: Path) -> LoadReport:
    """A docker-archive the user gave: loaded unless every node holds the id of the image in it."""
    found = archive_id(archive)
    report = LoadReport(cluster, driver.name)
    if found is not None and found in driver.image_ids(cluster):
        report.images.append(ImageResult(str(archive), found, "skipped", "every node holds this id"))
        return report
    driver.load_image(cluster, archive)
    report.images.append(ImageResult(str(archive), found or "", "loaded"))
    return report


def load(driver: "Driver", cluster: str, refs: List[str], podman=None,
         ids: Optional[Dict[str, str]] = None) -> LoadReport:
    """Put each image into every node of the cluster, unless every node already holds its id."""
    from .podman import Podman

    podman = podman or Podman()
    ids = ids if ids is not None else local_ids(refs, podman)
    held = driver.image_ids(cluster)
    report = LoadReport(cluster, driver.name)
    for ref in dict.fromkeys(refs):
        if ids[ref] in held:
            report.images.append(ImageResult(ref, ids[ref], "skipped", "every node holds this id"))
            continue
        archive = archive_path(ref)
        podman.save(ref, str(archive))
        try:
            driver.load_image(cluster, archive)
        finally:
            if archive.exists():
                archive.unlink()  # the user's store keeps the image; the archive was only the way in
        report.images.append(ImageResult(ref, ids[ref], "loaded"))
    return report
