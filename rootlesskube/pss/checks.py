"""The Pod Security checks, one function per upstream check variant.

Each function is named after upstream's (`policy/check_*.go` in
k8s.io/pod-security-admission), takes a `PodView` and returns None when the
pod is allowed, or `(reason, detail)` in upstream's exact words.
`REGISTRY` lists every check with its level and its variants by minimum
version and the baseline checks each restricted variant overrides.
Reference: ../shared/reference/pss-checks.md sections 2 and 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from .levels import BASELINE, RESTRICTED

Result = Optional[Tuple[str, str]]


class PodView:
    """A pod spec read once: the parts every check needs, with nulls as empties."""

    __slots__ = ("annotations", "spec", "pod_sc", "containers", "windows", "user_namespace")

    def __init__(self, metadata: dict, spec: dict):
        self.annotations: dict = (metadata or {}).get("annotations") or {}
        self.spec: dict = spec
        self.pod_sc: dict = spec.get("securityContext") or {}
        # visitContainers order: init, regular, ephemeral
        self.containers: List[Tuple[str, dict, dict]] = [
            (c.get("name") or "", c, c.get("securityContext") or {})
            for key in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(key) or ()
        ]
        self.windows: bool = ((spec.get("os") or {}).get("name")) == "windows"
        # relaxPolicyForUserNamespacePod: only an explicit hostUsers: false counts
        self.user_namespace: bool = spec.get("hostUsers") is False


def join_quote(items) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def containers_phrase(names: List[str]) -> str:
    return f"{pluralize('container', 'containers', len(names))} {join_quote(names)}"


_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v"}


def go_quote(value: str) -> str:
    """Go's %q: a double-quoted literal, control and non-printable characters escaped."""
    out = []
    for ch in value:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _text(value) -> str:
    return "" if value is None else str(value)


# --- allowPrivilegeEscalation (restricted) ---------------------------------

def allow_privilege_escalation_1_8(pod: PodView) -> Result:
    bad = [name for name, _, sc in pod.containers if sc.get("allowPrivilegeEscalation") is not False]
    if bad:
        return ("allowPrivilegeEscalation != false",
                f"{containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false")
    return None


def allow_privilege_escalation_1_25(pod: PodView) -> Result:
    return None if pod.windows else allow_privilege_escalation_1_8(pod)


# --- appArmorProfile (baseline) --------------------------------------------

_APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
_APPARMOR_TYPES = ("RuntimeDefault", "Localhost")


def _apparmor_annotation_allowed(value: str) -> bool:
    return value in ("", "runtime/default") or value.startswith("localhost/")


def app_armor_profile_1_0(pod: PodView) -> Result:
    forbidden_annotations = sorted(
        f"{key}={go_quote(_text(value))}"
        for key, value in pod.annotations.items()
        if key.startswith(_APPARMOR_ANNOTATION_PREFIX) and not _apparmor_annotation_allowed(_text(value))
    )
    setters: List[str] = []
    bad_values = set()
    profile = pod.pod_sc.get("appArmorProfile")
    if profile is not None:
        kind = _text(profile.get("type"))
        if kind not in _APPARMOR_TYPES:
            setters.append("pod")
            bad_values.add(kind)
    bad_containers = []
    for name, _, sc in pod.containers:
        profile = sc.get("appArmorProfile")
        if profile is not None:
            kind = _text(profile.get("type"))
            if kind not in _APPARMOR_TYPES:
                bad_containers.append(name)
                bad_values.add(kind)
    if bad_containers:
        setters.append(containers_phrase(bad_containers))
    if forbidden_annotations:
        setters.append(pluralize("annotation", "annotations", len(forbidden_annotations)))
    if not setters:
        return None
    values = sorted(bad_values) + forbidden_annotations
    return (pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
            f"{' and '.join(setters)} must not set AppArmor profile type to {join_quote(values)}")


# --- capabilities (baseline and restricted) --------------------------------

_BASELINE_CAPABILITIES = frozenset((
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
))


def capabilities_baseline_1_0(pod: PodView) -> Result:
    bad_containers = []
    forbidden = set()
    for name, _, sc in pod.containers:
        added = [_text(cap) for cap in ((sc.get("capabilities") or {}).get("add") or ())]
        extra = [cap for cap in added if cap not in _BASELINE_CAPABILITIES]
        if extra:
            bad_containers.append(name)
            forbidden.update(extra)
    if bad_containers:
        return ("non-default capabilities",
                f"{containers_phrase(bad_containers)} must not include {join_quote(sorted(forbidden))} "
                "in securityContext.capabilities.add")
    return None


def capabilities_restricted_1_22(pod: PodView) -> Result:
    missing_drop_all = []
    adding_forbidden = []
    forbidden = set()
    for name, _, sc in pod.containers:
        capabilities = sc.get("capabilities")
        if capabilities is None:
            missing_drop_all.append(name)
            continue
        if "ALL" not in (capabilities.get("drop") or ()):
            missing_drop_all.append(name)
        extra = [_text(cap) for cap in (capabilities.get("add") or ()) if cap != "NET_BIND_SERVICE"]
        if extra:
            adding_forbidden.append(name)
            forbidden.update(extra)
    parts = []
    if missing_drop_all:
        parts.append(f'{containers_phrase(missing_drop_all)} must set securityContext.capabilities.drop=["ALL"]')
    if adding_forbidden:
        parts.append(f"{containers_phrase(adding_forbidden)} must not include {join_quote(sorted(forbidden))} "
                     "in securityContext.capabilities.add")
    return ("unrestricted capabilities", "; ".join(parts)) if parts else None


def capabilities_restricted_1_25(pod: PodView) -> Result:
    return None if pod.windows else capabilities_restricted_1_22(pod)


# --- host namespaces, hostPath volumes, host ports, probe hosts (baseline) --

def host_namespaces_1_0(pod: PodView) -> Result:
    spec = pod.spec
    used = [f"{field}=true" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field) is True]
    return ("host namespaces", ", ".join(used)) if used else None


def host_path_volumes_1_0(pod: PodView) -> Result:
    names = [_text(v.get("name")) for v in pod.spec.get("volumes") or () if v.get("hostPath") is not None]
    if names:
        return ("hostPath volumes", f"{pluralize('volume', 'volumes', len(names))} {join_quote(names)}")
    return None


def host_ports_1_0(pod: PodView) -> Result:
    bad_containers = []
    ports = set()
    for name, container, _ in pod.containers:
        used = [str(int(p["hostPort"])) for p in container.get("ports") or () if p.get("hostPort")]
        if used:
            bad_containers.append(name)
            ports.update(used)
    if bad_containers:
        n = len(bad_containers)
        return ("hostPort",
                f"{containers_phrase(bad_containers)} {pluralize('uses', 'use', n)} "
                f"{pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}")
    return None


_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_LIFECYCLE_HANDLERS = ("postStart", "preStop")


def _handler_hosts(handler: dict) -> List[str]:
    hosts = []
    for action in ("httpGet", "tcpSocket"):
        host = (handler.get(action) or {}).get("host")
        if host:
            hosts.append(_text(host))
    return hosts


def host_probes_and_host_lifecycle_1_34(pod: PodView) -> Result:
    bad_containers = set()
    hosts = set()
    for name, container, _ in pod.containers:
        handlers = [container.get(p) or {} for p in _PROBES]
        lifecycle = container.get("lifecycle") or {}
        handlers += [lifecycle.get(h) or {} for h in _LIFECYCLE_HANDLERS]
        for handler in handlers:
            found = _handler_hosts(handler)
            if found:
                bad_containers.add(name)
                hosts.update(found)
    if bad_containers:
        n = len(bad_containers)
        return ("probe or lifecycle host",
                f"{containers_phrase(sorted(bad_containers))} {pluralize('uses', 'use', n)} "
                f"{pluralize('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} "
                f"{join_quote(sorted(hosts))}")
    return None


# --- privileged, procMount (baseline; procMount also restricted) -----------

def privileged_1_0(pod: PodView) -> Result:
    bad = [name for name, _, sc in pod.containers if sc.get("privileged") is True]
    if bad:
        return ("privileged", f"{containers_phrase(bad)} must not set securityContext.privileged=true")
    return None


def proc_mount_1_0(pod: PodView) -> Result:
    bad_containers = []
    values = set()
    for name, _, sc in pod.containers:
        mount = sc.get("procMount")
        if mount is not None and mount != "Default":
            bad_containers.append(name)
            values.add(_text(mount))
    if bad_containers:
        return ("procMount", f"{containers_phrase(bad_containers)} must not set securityContext.procMount to "
                             f"{join_quote(sorted(values))}")
    return None


def proc_mount_1_35_baseline(pod: PodView) -> Result:
    return None if pod.user_namespace else proc_mount_1_0(pod)


# --- volumes (restricted) --------------------------------------------------

_ALLOWED_VOLUME_SOURCES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                           "persistentVolumeClaim", "projected", "secret")
_RESTRICTED_VOLUME_SOURCES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd",
    "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
)


def _volume_type(volume: dict) -> Optional[str]:
    """The restricted type of a volume, or None when it is allowed.

    A volume with no source at all is allowed: the API server's
    SetDefaults_Volume makes it an emptyDir before admission sees it.
    """
    for source in _ALLOWED_VOLUME_SOURCES:
        if volume.get(source) is not None:
            return None
    for source in _RESTRICTED_VOLUME_SOURCES:
        if volume.get(source) is not None:
            return source
    return None


def restricted_volumes_1_0(pod: PodView) -> Result:
    bad_volumes = []
    types = set()
    for volume in pod.spec.get("volumes") or ():
        kind = _volume_type(volume)
        if kind is not None:
            bad_volumes.append(_text(volume.get("name")))
            types.add(kind)
    if bad_volumes:
        n = len(bad_volumes)
        return ("restricted volume types",
                f"{pluralize('volume', 'volumes', n)} {join_quote(bad_volumes)} {pluralize('uses', 'use', n)} "
                f"{pluralize('restricted volume type', 'restricted volume types', len(types))} "
                f"{join_quote(sorted(types))}")
    return None


# --- runAsNonRoot, runAsUser (restricted) ----------------------------------

def run_as_non_root_1_0(pod: PodView) -> Result:
    setters = []
    pod_value = pod.pod_sc.get("runAsNonRoot")
    if pod_value is not None and not pod_value:
        setters.append("pod")
    pod_non_root = bool(pod_value)
    explicit = []
    implicit = []
    for name, _, sc in pod.containers:
        value = sc.get("runAsNonRoot")
        if value is not None:
            if not value:
                explicit.append(name)
        elif not pod_non_root:
            implicit.append(name)
    if explicit:
        setters.append(containers_phrase(explicit))
    if setters:
        return ("runAsNonRoot != true", f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false")
    if implicit:
        return ("runAsNonRoot != true", f"pod or {containers_phrase(implicit)} must set securityContext.runAsNonRoot=true")
    return None


def run_as_non_root_1_35(pod: PodView) -> Result:
    return None if pod.user_namespace else run_as_non_root_1_0(pod)


def _is_root(uid) -> bool:
    return uid is not None and uid is not False and uid == 0


def run_as_user_1_23(pod: PodView) -> Result:
    setters = ["pod"] if _is_root(pod.pod_sc.get("runAsUser")) else []
    bad = [name for name, _, sc in pod.containers if _is_root(sc.get("runAsUser"))]
    if bad:
        setters.append(containers_phrase(bad))
    if setters:
        return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0")
    return None


def run_as_user_1_35(pod: PodView) -> Result:
    return None if pod.user_namespace else run_as_user_1_23(pod)


# --- seLinuxOptions (baseline) ---------------------------------------------

def _se_linux_options(pod: PodView, allowed_types: frozenset) -> Result:
    bad_types = set()
    found = {"user": False, "role": False}

    def valid(options: dict) -> bool:
        ok = True
        kind = _text(options.get("type"))
        if kind not in allowed_types:
            ok = False
            bad_types.add(kind)
        for part in ("user", "role"):
            if options.get(part):
                ok = False
                found[part] = True
        return ok

    setters = []
    options = pod.pod_sc.get("seLinuxOptions")
    if options is not None and not valid(options):
        setters.append("pod")
    bad_containers = [name for name, _, sc in pod.containers
                      if sc.get("seLinuxOptions") is not None and not valid(sc["seLinuxOptions"])]
    if bad_containers:
        setters.append(containers_phrase(bad_containers))
    if not setters:
        return None
    data = []
    if bad_types:
        data.append(f"{pluralize('type', 'types', len(bad_types))} {join_quote(sorted(bad_types))}")
    data += [f"{part} may not be set" for part in ("user", "role") if found[part]]
    return ("seLinuxOptions",
            f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}")


_SELINUX_TYPES_1_0 = frozenset(("", "container_t", "container_init_t", "container_kvm_t"))
_SELINUX_TYPES_1_31 = _SELINUX_TYPES_1_0 | {"container_engine_t"}


def se_linux_options_1_0(pod: PodView) -> Result:
    return _se_linux_options(pod, _SELINUX_TYPES_1_0)


def se_linux_options_1_31(pod: PodView) -> Result:
    return _se_linux_options(pod, _SELINUX_TYPES_1_31)


# --- seccompProfile (baseline and restricted) ------------------------------

_SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
_SECCOMP_TYPES = ("RuntimeDefault", "Localhost")


def _seccomp_annotation_allowed(value: str) -> bool:
    return value in ("runtime/default", "docker/default") or value.startswith("localhost/")


def seccomp_profile_baseline_1_0(pod: PodView) -> Result:
    keys = [_SECCOMP_POD_ANNOTATION] + [_SECCOMP_CONTAINER_ANNOTATION_PREFIX + name for name, _, _ in pod.containers]
    forbidden = {
        f"{key}={go_quote(_text(pod.annotations[key]))}"
        for key in keys
        if key in pod.annotations and not _seccomp_annotation_allowed(_text(pod.annotations[key]))
    }
    if forbidden:
        return ("seccompProfile",
                f"forbidden {pluralize('annotation', 'annotations', len(forbidden))} {', '.join(sorted(forbidden))}")
    return None


def _seccomp_type(sc: dict) -> Optional[str]:
    profile = sc.get("seccompProfile")
    return None if profile is None else _text(profile.get("type"))


def _seccomp_fields(pod: PodView, pod_covers: bool) -> Result:
    """seccompProfile_baseline 1.19 (pod_covers False) and seccompProfile_restricted."""
    setters = []
    bad_values = set()
    pod_type = _seccomp_type(pod.pod_sc)
    if pod_type is not None and pod_type not in _SECCOMP_TYPES:
        setters.append("pod")
        bad_values.add(pod_type)
    pod_valid = pod_type in _SECCOMP_TYPES
    explicit = []
    implicit = []
    for name, _, sc in pod.containers:
        kind = _seccomp_type(sc)
        if kind is not None:
            if kind not in _SECCOMP_TYPES:
                explicit.append(name)
                bad_values.add(kind)
        elif not pod_valid:
            implicit.append(name)
    if explicit:
        setters.append(containers_phrase(explicit))
    if setters:
        return ("seccompProfile", f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
                                  f"{join_quote(sorted(bad_values))}")
    if pod_covers and implicit:
        return ("seccompProfile", f"pod or {containers_phrase(implicit)} must set securityContext.seccompProfile.type "
                                  'to "RuntimeDefault" or "Localhost"')
    return None


def seccomp_profile_baseline_1_19(pod: PodView) -> Result:
    return _seccomp_fields(pod, pod_covers=False)


def seccomp_profile_restricted_1_19(pod: PodView) -> Result:
    return _seccomp_fields(pod, pod_covers=True)


def seccomp_profile_restricted_1_25(pod: PodView) -> Result:
    return None if pod.windows else seccomp_profile_restricted_1_19(pod)


# --- sysctls (baseline) ----------------------------------------------------

_SYSCTLS_1_0 = frozenset((
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
))
_SYSCTLS_1_27 = _SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
_SYSCTLS_1_29 = _SYSCTLS_1_27 | {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                                 "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
_SYSCTLS_1_32 = _SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
_SYSCTLS_1_37 = _SYSCTLS_1_32 | {"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}


def _sysctls(pod: PodView, allowed: frozenset) -> Result:
    # spec order, not sorted, not deduplicated, not quoted
    names = [_text(s.get("name")) for s in pod.pod_sc.get("sysctls") or ()]
    forbidden = [name for name in names if name not in allowed]
    return ("forbidden sysctls", ", ".join(forbidden)) if forbidden else None


def sysctls_1_0(pod: PodView) -> Result:
    return _sysctls(pod, _SYSCTLS_1_0)


def sysctls_1_27(pod: PodView) -> Result:
    return _sysctls(pod, _SYSCTLS_1_27)


def sysctls_1_29(pod: PodView) -> Result:
    return _sysctls(pod, _SYSCTLS_1_29)


def sysctls_1_32(pod: PodView) -> Result:
    return _sysctls(pod, _SYSCTLS_1_32)


def sysctls_1_37(pod: PodView) -> Result:
    return _sysctls(pod, _SYSCTLS_1_37)


# --- windowsHostProcess (baseline) -----------------------------------------

def _host_process(sc: dict) -> bool:
    return (sc.get("windowsOptions") or {}).get("hostProcess") is True


def windows_host_process_1_0(pod: PodView) -> Result:
    setters = ["pod"] if _host_process(pod.pod_sc) else []
    bad = [name for name, _, sc in pod.containers if _host_process(sc)]
    if bad:
        setters.append(containers_phrase(bad))
    if setters:
        return ("hostProcess", f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true")
    return None


# --- the registry ------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    minimum_minor: int
    check: Callable[[PodView], Result]
    overrides: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    id: str
    level: str
    variants: Tuple[Variant, ...]  # ascending minimum_minor


REGISTRY: Tuple[Check, ...] = (
    Check("allowPrivilegeEscalation", RESTRICTED, (
        Variant(8, allow_privilege_escalation_1_8), Variant(25, allow_privilege_escalation_1_25))),
    Check("appArmorProfile", BASELINE, (Variant(0, app_armor_profile_1_0),)),
    Check("capabilities_baseline", BASELINE, (Variant(0, capabilities_baseline_1_0),)),
    Check("capabilities_restricted", RESTRICTED, (
        Variant(22, capabilities_restricted_1_22, ("capabilities_baseline",)),
        Variant(25, capabilities_restricted_1_25, ("capabilities_baseline",)))),
    Check("hostNamespaces", BASELINE, (Variant(0, host_namespaces_1_0),)),
    Check("hostPathVolumes", BASELINE, (Variant(0, host_path_volumes_1_0),)),
    Check("hostPorts", BASELINE, (Variant(0, host_ports_1_0),)),
    Check("hostProbesAndHostLifecycle", BASELINE, (Variant(34, host_probes_and_host_lifecycle_1_34),)),
    Check("privileged", BASELINE, (Variant(0, privileged_1_0),)),
    Check("procMount", BASELINE, (Variant(0, proc_mount_1_0), Variant(35, proc_mount_1_35_baseline))),
    Check("procMount_restricted", RESTRICTED, (Variant(35, proc_mount_1_0, ("procMount",)),)),
    Check("restrictedVolumes", RESTRICTED, (Variant(0, restricted_volumes_1_0, ("hostPathVolumes",)),)),
    Check("runAsNonRoot", RESTRICTED, (Variant(0, run_as_non_root_1_0), Variant(35, run_as_non_root_1_35))),
    Check("runAsUser", RESTRICTED, (Variant(23, run_as_user_1_23), Variant(35, run_as_user_1_35))),
    Check("seLinuxOptions", BASELINE, (Variant(0, se_linux_options_1_0), Variant(31, se_linux_options_1_31))),
    Check("seccompProfile_baseline", BASELINE, (
        Variant(0, seccomp_profile_baseline_1_0), Variant(19, seccomp_profile_baseline_1_19))),
    Check("seccompProfile_restricted", RESTRICTED, (
        Variant(19, seccomp_profile_restricted_1_19, ("seccompProfile_baseline",)),
        Variant(25, seccomp_profile_restricted_1_25, ("seccompProfile_baseline",)))),
    Check("sysctls", BASELINE, (
        Variant(0, sysctls_1_0), Variant(27, sysctls_1_27), Variant(29, sysctls_1_29), Variant(32, sysctls_1_32),
        Variant(37, sysctls_1_37))),
    Check("windowsHostProcess", BASELINE, (Variant(0, windows_host_process_1_0),)),
)


def variant_at(check: Check, minor: int) -> Optional[Variant]:
    """The variant in force at v1.<minor>: the one with the largest minimum <= minor."""
    found = None
    for variant in check.variants:
        if variant.minimum_minor <= minor:
            found = variant
    return found


def checks_for(level: str, minor: int) -> List[Tuple[str, Callable[[PodView], Result]]]:
    """The (id, function) pairs that run at level and v1.<minor>, in report order:
    baseline IDs sorted byte-wise, then restricted IDs sorted (upstream registry.go)."""
    active: Dict[str, Tuple[str, Variant]] = {}
    for check in REGISTRY:
        if check.level == BASELINE or level == RESTRICTED:
            variant = variant_at(check, minor)
            if variant is not None:
                active[check.id] = (check.level, variant)
    for _, variant in list(active.values()):
        for overridden in variant.overrides:
            active.pop(overridden, None)
    ordered = sorted(active.items(), key=lambda item: (item[1][0] != BASELINE, item[0]))
    return [(check_id, variant.check) for check_id, (_, variant) in ordered]
