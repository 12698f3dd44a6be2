"""Recipes: what one unattended run does, as a YAML file (apiVersion rootlesskube.dev/v1alpha1, kind Recipe).

A recipe names a cluster (driver, name, Kubernetes version or node image, a
cluster-wide Pod Security default), the namespaces to label, the workloads to
deploy (PMM 3, PMM 2 as an expected failure, plain manifests), the checks to
run, timeouts and a cleanup policy. `load()` validates all of it before
anything runs; every error names file:line:col and what was expected: the
schema (keys, types, names, levels), the files a workload or pss-check names
(relative to the recipe), and what fields say together. A namespace that a
workload or pmm-verify uses must be declared under `namespaces` (its Pod
Security labels are what the run proves; none is created with defaults).
A cluster has a `kubernetes` version or a kind `nodeImage` (pinned by a full
sha256 digest), not both; every cluster field is checked for its driver with
the drivers' own rules (ClusterSpec.validate).

Shipped recipes live in rootlesskube/recipes/ and are named without a path
(`rootlesskube run kind-pmm3-restricted`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..drivers import DRIVERS
from ..drivers.base import CONTAINER_RUNTIMES, DIGEST_PATTERN, PSS_LEVELS, USERNETES_PORTS, ClusterSpec, PortMapping
from ..errors import UsageError
from ..names import dns1123_label
from ..pss.labels import ModePolicy, PssLabels
from ..pss.levels import validate_version
from .fields import Bool, Fields, Int, List_, Obj, Path_, SchemaError, Str, Tagged, compose

API_VERSION = "rootlesskube.dev/v1alpha1"
KIND = "Recipe"
DEFAULT_RECIPE = "kind-pmm3-restricted"

def _recipes_dir() -> Path:
    """The shipped recipes: the top-level recipes/ of a checkout, which a wheel packages as
    rootlesskube/recipe/shipped/ (pyproject.toml's package-dir)."""
    here = Path(__file__).resolve().parent
    packaged = here / "shipped"
    return packaged if packaged.is_dir() else here.parent.parent / "recipes"


RECIPES_DIR = _recipes_dir()
SCHEMA_FILE = RECIPES_DIR / "recipe_schema.json"
CLEANUP_POLICIES = ("always", "on-success", "never", "stop")
REUSING_POLICIES = ("stop", "never")  # the cleanups that leave a cluster for the next run
EXPECT = ("ready", "rejected")
SCHEMA_ID = "https://rootlesskube.dev/schemas/recipe-v1alpha1.json"
NAME_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def _name(what: str) -> Str:
    return Str(f"a DNS-1123 label ({what})", check=lambda v: dns1123_label(v, what), pattern=NAME_PATTERN)


def _node_image(value: str) -> None:
    from ..podman import image_ref

    image_ref(value)
    if not re.search(DIGEST_PATTERN, value):
        raise UsageError(f"the node image {value!r} is not pinned by a full digest (@sha256: and 64 hex digits)")


LEVEL = Str("a Pod Security level", choices=PSS_LEVELS)
VERSION = Str("a Pod Security version: latest or v1.N", check=validate_version, pattern="^(latest|v1\\.[0-9]+)$")
SECONDS = Int(1, 86400, "a number of seconds from 1 to 86400")
FILES = List_(Path_(), min_items=1)
IMAGE_ARCHIVE = Path_("a docker-archive of the PMM image (`podman save --format docker-archive`), relative to the "
                      "recipe; without it the image is pulled with rootless Podman")

CLUSTER = Obj({
    "driver": Str("a driver", choices=DRIVERS),
    "name": _name("cluster name"),
    "kubernetes": Str("a Kubernetes version like v1.36.1", pattern="^v"),
    "nodeImage": Str("a kind node image pinned by digest (NAME:TAG@sha256:DIGEST, 64 hex digits)",
                     check=_node_image, pattern=DIGEST_PATTERN),
    "podSecurityDefault": LEVEL,
    "workers": Int(0, 10),
    "apiPort": Int(0, 65535),
    "containerRuntime": Str("minikube's container runtime", choices=CONTAINER_RUNTIMES),
    "reuse": Bool(description="true: a warm run: start the cluster a previous run stopped (cleanup: stop) or left, reset only "
                  "the recipe's namespaces (delete, wait, re-create) and load no image a node already holds"),
}, required=("driver", "name"), description="the cluster to bring up (rootlesskube up)")
# recipe key -> ClusterSpec attribute, for the optional cluster keys
CLUSTER_FIELDS = {"kubernetes": "kubernetes", "nodeImage": "node_image", "podSecurityDefault": "pss_default",
                  "workers": "workers", "apiPort": "api_port", "containerRuntime": "container_runtime"}

NAMESPACE = Obj({
    "name": _name("namespace"),
    "podSecurity": Obj({"enforce": LEVEL, "audit": LEVEL, "warn": LEVEL, "version": VERSION}),
}, required=("name",))

WORKLOAD = Tagged({
    "pmm3": Obj({"type": Str(choices=("pmm3",)), "namespace": _name("namespace"), "imageArchive": IMAGE_ARCHIVE},
                required=("type", "namespace"), description="PMM 3 (rootlesskube pmm deploy): must become Ready"),
    "pmm2": Obj({"type": Str(choices=("pmm2",)), "namespace": _name("namespace"), "expect": Str(choices=("rejected",)),
                 "imageArchive": IMAGE_ARCHIVE},
                required=("type", "namespace", "expect"),
                description="PMM 2, the negative control (rootlesskube pmm deploy --version 2 --expect-failure)"),
    "manifests": Obj({"type": Str(choices=("manifests",)), "namespace": _name("namespace"), "files": FILES,
                      "expect": Str(choices=EXPECT)},
                     required=("type", "namespace", "files"), description="plain manifests, kubectl apply"),
})

CHECK = Tagged({
    "doctor": Obj({"type": Str(choices=("doctor",))}, required=("type",), description="the host checks"),
    "rootless": Obj({"type": Str(choices=("rootless",))}, required=("type",),
                    description="the rootless proof of every node container (rootlesskube verify)"),
    "pmm-verify": Obj({"type": Str(choices=("pmm-verify",)), "namespace": _name("namespace")},
                      required=("type", "namespace"), description="rootlesskube pmm verify"),
    "pss-check": Obj({"type": Str(choices=("pss-check",)), "files": FILES, "level": LEVEL, "version": VERSION},
                     required=("type", "files", "level"), description="rootlesskube pss check, offline"),
})


def _check_id(value: str) -> None:
    from ..host.ignore import syntax

    syntax([value], "doctor.ignore")


DOCTOR = Obj({
    "ignore": List_(Str("a doctor check id (cgroup.v2, module.overlay, ...) or all", check=_check_id)),
}, description="how the doctor's verdict is taken: `ignore` lists failing checks to go past (they stay in the "
               "report, marked ignored), as `--ignore-checks`")

LAB = Obj({
    "roster": Str("the roster written by rootlesskube-host-setup lab (.json or .csv), relative to the "
                  "working directory"),
    "portMappings": List_(Obj({"containerPort": Int(1, 65535), "offset": Int(1, 1000)},
                              required=("containerPort", "offset"))),
}, required=("roster",), description="one cluster per roster user, named CLUSTER-USER, API port = the user's "
                                     "first port, each mapping on first port + offset; Usernetes: etcd, kubelet "
                                     "and flannel on the next three ports (no portMappings)")

RECIPE = Obj({
    "apiVersion": Str(choices=(API_VERSION,)),
    "kind": Str(choices=(KIND,)),
    "metadata": Obj({"name": _name("recipe name"), "description": Str()}, required=("name",)),
    "cluster": CLUSTER,
    "lab": LAB,
    "namespaces": List_(NAMESPACE),
    "workloads": List_(WORKLOAD),
    "checks": List_(CHECK),
    "doctor": DOCTOR,
    "timeouts": Obj({"create": SECONDS, "ready": SECONDS, "workload": SECONDS, "check": SECONDS}),
    "cleanup": Str("a cleanup policy: always, on-success (delete the cluster), never (leave it running), stop "
                   "(stop it, data kept, for the next run's cluster.reuse)", choices=CLEANUP_POLICIES),
}, required=("apiVersion", "kind", "metadata", "cluster"))


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: PssLabels


@dataclass(frozen=True)
class Workload:
    type: str  # pmm3, pmm2, manifests
    namespace: str
    expect: str = "ready"
    files: Tuple[str, ...] = ()  # absolute paths
    image_archive: Optional[str] = None  # PMM: an absolute path; None = pull with rootless Podman


@dataclass(frozen=True)
class Check:
    type: str  # doctor, rootless, pmm-verify, pss-check
    namespace: Optional[str] = None
    files: Tuple[str, ...] = ()
    level: Optional[str] = None
    version: str = "latest"


@dataclass(frozen=True)
class Timeouts:
    create: Optional[int] = None  # the bring-up's create command; None: the driver's default
    ready: int = 300  # waiting for Ready nodes
    workload: int = 600  # waiting for a workload; also bounds each kubectl call of the namespace and workload steps
    check: int = 600  # bounds each command a check runs (pmm verify's kubectl calls, the rootless proof's podman)


@dataclass(frozen=True)
class Lab:
    roster: str
    port_mappings: Tuple[Tuple[int, int], ...] = ()  # (container port, offset from the user's first port)


@dataclass(frozen=True)
class Recipe:
    name: str
    source: str
    cluster: ClusterSpec
    description: str = ""
    namespaces: Tuple[Namespace, ...] = ()
    workloads: Tuple[Workload, ...] = ()
    checks: Tuple[Check, ...] = ()
    timeouts: Timeouts = field(default_factory=Timeouts)
    cleanup: str = "on-success"
    lab: Optional[Lab] = None
    ignore_checks: Tuple[str, ...] = ()  # doctor.ignore
    reuse: bool = False  # cluster.reuse: a warm run (namespaces reset on a reused cluster)

    def clusters(self) -> List[ClusterSpec]:
        """The clusters this recipe brings up: one, or one per lab user in the roster."""
        return lab_clusters(self.cluster, self.lab) if self.lab else [self.cluster]


def json_schema() -> dict:
    """The JSON Schema published for editors (recipes/recipe_schema.json), rendered from RECIPE."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "rootlesskube recipe", **RECIPE.json_schema()}


# --- finding and loading ---
def shipped() -> Dict[str, Path]:
    """The recipes installed with the package, by name."""
    return {p.stem: p for p in sorted(RECIPES_DIR.glob("*.yaml"))}


def find(name_or_path: str) -> Path:
    """A path as given, or a shipped recipe by name."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not os.path.lexists(path):  # anything there (a FIFO, a folder, a name too long): read_text names it
            raise UsageError(f"no recipe file {name_or_path[:200]}", hint="give a path to a .yaml file, or a shipped "
                                                                    "recipe's name (`rootlesskube recipes list`)")
        return path
    found = shipped().get(name_or_path)
    if found is None:
        raise UsageError(f"no recipe named {name_or_path[:80]!r}",
                         hint="shipped recipes: " + ", ".join(shipped()) + " (or give a path to a .yaml file)")
    return found


def load(name_or_path: str) -> Recipe:
    """Find, read and validate a recipe; UsageError (file:line:col) when anything is wrong."""
    from .. import inputs

    path = find(name_or_path)
    return parse(inputs.read_text(str(path), "recipe"), str(path))


def parse(text: str, file: str) -> Recipe:
    root = compose(text, file)
    data = RECIPE.load(root, file)
    base = Path(file).resolve().parent
    cluster = data["cluster"]
    spec = ClusterSpec(name=cluster["name"], driver=cluster["driver"],
                       **{attribute: cluster[key] for key, attribute in CLUSTER_FIELDS.items() if key in cluster})
    _check_cluster(cluster, spec, file)
    _check_namespaces(data, file)
    if spec.driver == "usernetes" and "portMappings" in data.get("lab", {}):
        raise SchemaError(file, data["lab"].nodes["portMappings"], "portMappings are set for the usernetes driver",
                          "no portMappings: Usernetes publishes only its own ports (API server, etcd, kubelet, "
                          "flannel), which the lab takes from each user's ports")
    timeouts = Timeouts(**data.get("timeouts", {}))
    reuse = cluster.get("reuse", False)
    if reuse and data.get("cleanup", "on-success") not in REUSING_POLICIES:
        where = data.nodes["cleanup"] if "cleanup" in data else cluster.nodes["reuse"]
        raise SchemaError(file, where, f"cluster.reuse is true but cleanup is {data.get('cleanup', 'on-success')} "
                          "(it deletes the cluster, so no next run can reuse it)",
                          "cleanup: stop (the warm run: stopped between runs) or cleanup: never")
    return Recipe(
        name=data["metadata"]["name"],
        description=data["metadata"].get("description", ""),
        source=file,
        cluster=spec,
        namespaces=tuple(_namespace(n) for n in data.get("namespaces", [])),
        workloads=tuple(Workload(w["type"], w["namespace"], w.get("expect", "ready"), _paths(base, w.get("files", [])),
                                 _paths(base, [w["imageArchive"]])[0] if "imageArchive" in w else None)
                        for w in data.get("workloads", [])),
        checks=tuple(Check(c["type"], c.get("namespace"), _paths(base, c.get("files", [])), c.get("level"),
                           c.get("version", "latest")) for c in data.get("checks", [])),
        timeouts=timeouts,
        cleanup=data.get("cleanup", "on-success"),
        lab=_lab(data["lab"]) if "lab" in data else None,
        ignore_checks=_ignore_checks(data.get("doctor", {}), spec.driver, file),
        reuse=reuse,
    )


def _ignore_checks(doctor: dict, driver: str, file: str) -> Tuple[str, ...]:
    """doctor.ignore, each id one the doctor has for the recipe's driver."""
    from ..host import ignore

    if "ignore" not in doctor:
        return ()
    items, nodes = doctor["ignore"], doctor.nodes["ignore"]
    try:
        ignore.syntax(items, "doctor.ignore")
    except UsageError as exc:
        raise SchemaError(file, nodes, exc.message, "`all` alone, or the ids of checks") from None
    for item, node in zip(items, nodes.value):
        try:
            ignore.validate([item], driver, "doctor.ignore")
        except UsageError as exc:
            raise SchemaError(file, node, exc.message, f"a check id the doctor has for the {driver} driver "
                              f"(`rootlesskube doctor --driver {driver}` lists them), or all") from None
    return ignore.syntax(items, "doctor.ignore")


def _check_cluster(cluster: Fields, spec: ClusterSpec, file: str) -> None:
    """The cluster's fields for its driver, each with the drivers' own rules (ClusterSpec.validate)."""
    driver = cluster["driver"]
    if "kubernetes" in cluster and "nodeImage" in cluster:
        raise SchemaError(file, cluster.nodes["nodeImage"], "both kubernetes and nodeImage are set",
                          "one or the other: a Kubernetes version, or the kind node image that has it")
    if "nodeImage" in cluster and driver != "kind":
        raise SchemaError(file, cluster.nodes["nodeImage"], f"nodeImage is set for the {driver} driver",
                          "nodeImage only with driver kind (a kind node image)")
    for key, attribute in CLUSTER_FIELDS.items():
        if key in cluster:
            _validated(ClusterSpec(spec.name, driver=driver, **{attribute: cluster[key]}), cluster.nodes[key],
                       CLUSTER.fields[key].expected or f"a valid {key} for the {driver} driver", file)
    _validated(spec, cluster.nodes["driver"], f"a cluster the {driver} driver can bring up", file)


def _validated(spec: ClusterSpec, node, expected: str, file: str) -> None:
    try:
        spec.validate()
    except UsageError as exc:
        raise SchemaError(file, node, exc.message, expected) from None


def _check_namespaces(data: Fields, file: str) -> None:
    """Every namespace a workload or pmm-verify names is declared under `namespaces`, with its labels.

    A namespace is never created with defaults: its Pod Security labels are what the run proves.
    """
    declared = [n["name"] for n in data.get("namespaces", [])]
    for index, namespace in enumerate(data.get("namespaces", [])):
        if namespace["name"] in declared[:index]:
            first = data["namespaces"][declared.index(namespace["name"])].nodes["name"]
            raise SchemaError(file, namespace.nodes["name"], f"the namespace {namespace['name']!r} is declared twice "
                              f"(first at line {first.start_mark.line + 1})", "each namespace declared once")
    for item in data.get("workloads", []) + [c for c in data.get("checks", []) if "namespace" in c]:
        if item["namespace"] not in declared:
            raise SchemaError(file, item.nodes["namespace"], f"the namespace {item['namespace']!r} is not "
                              "declared under namespaces",
                              "one of: " + ", ".join(declared) if declared else "a namespaces: entry for it "
                              "(name and podSecurity labels)")


def _namespace(data: dict) -> Namespace:
    modes = data.get("podSecurity", {})
    version = modes.get("version")
    labels = PssLabels(**{mode: ModePolicy.validated(level, version)
                          for mode, level in modes.items() if mode != "version"})
    return Namespace(data["name"], labels)


def _paths(base: Path, files: List[str]) -> Tuple[str, ...]:
    return tuple(str(base / f) for f in files)


def _lab(data: dict) -> Lab:
    return Lab(data["roster"], tuple((m["containerPort"], m["offset"]) for m in data.get("portMappings", [])))


def usernetes_ports(row, width: int) -> Tuple[Tuple[str, int], ...]:
    """Usernetes's etcd, kubelet and flannel ports on the lab user's ports after the API server's first one."""
    if width < 1 + len(USERNETES_PORTS):
        raise UsageError(f"lab user {row.user!r} has {width} ports; Usernetes needs {1 + len(USERNETES_PORTS)} "
                         "(API server, etcd, kubelet, flannel)", hint="re-run the lab setup with more --ports-per-user")
    return tuple((name, row.port_first + 1 + index) for index, name in enumerate(USERNETES_PORTS))


def lab_clusters(base: ClusterSpec, lab: Lab) -> List[ClusterSpec]:
    """One ClusterSpec per roster user: named BASE-USER, with the user's ports (Usernetes: all four of its own).

    A user of the roster gets only their own cluster: on a workshop host each student runs the
    recipe, and a rootless cluster belongs to the user who runs it. Anyone else (the instructor's
    smoke run) gets every user's.
    """
    import pwd
    from dataclasses import replace

    from .roster import read_roster

    roster_path = Path(lab.roster)
    if not roster_path.is_file():
        raise UsageError(f"the lab roster {roster_path.resolve()} does not exist",
                         hint="`sudo /usr/local/sbin/rootlesskube-host-setup lab --users a,b,c --roster FILE` writes "
                              "it; run from its folder or give its path in the recipe's lab.roster")
    rows = read_roster(roster_path)
    me = pwd.getpwuid(os.getuid()).pw_name
    rows = [row for row in rows if row.user == me] or rows
    specs = []
    for row in rows:
        name = f"{base.name}-{row.user}"
        dns1123_label(name, f"cluster name of lab user {row.user!r}")
        width = row.port_last - row.port_first + 1
        for _, offset in lab.port_mappings:
            if offset >= width:
                raise UsageError(f"lab user {row.user!r} has {width} ports; port offset {offset} is outside them",
                                 hint="use smaller offsets, or re-run the lab setup with more --ports-per-user")
        mappings = tuple(PortMapping(port, row.port_first + offset) for port, offset in lab.port_mappings)
        specs.append(replace(base, name=name, api_port=row.port_first, port_mappings=mappings,
                             usernetes_ports=usernetes_ports(row, width) if base.driver == "usernetes" else ()))
    if not specs:
        raise UsageError(f"the lab roster {roster_path} lists no users",
                         hint="`sudo /usr/local/sbin/rootlesskube-host-setup lab --users a,b,c` adds them")
    return specs


__all__ = ["Recipe", "Namespace", "Workload", "Check", "Timeouts", "Lab", "SchemaError", "load", "parse", "find",
           "shipped", "json_schema", "RECIPE", "DEFAULT_RECIPE", "CLEANUP_POLICIES"]
