"""The cluster-wide Pod Security default: an AdmissionConfiguration file.

The API server reads it through `--admission-control-config-file` (the kind
driver mounts it into the control plane as
../shared/contracts/kind/cluster-config.psa.yaml shows). It sets the level of
every namespace without labels, and exempts namespaces whose pods must stay
privileged: kube-system and the CNI's own namespace.
Format: ../shared/reference/pss-checks.md §5, seeds section 24.
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Sequence

import yaml

from ..names import dns1123_label
from .labels import DEFAULT_LEVEL, MODES, ModePolicy, PssLabels

DEFAULT_EXEMPT_NAMESPACES = ("kube-system",)
CNI_NAMESPACES = {
    # kind's and minikube's default CNI (kindnet) and Cilium run in kube-system
    "kindnet": "kube-system",
    "cilium": "kube-system",
    "calico": "calico-system",
    "flannel": "kube-flannel",
}


def exemptions_for(cni: Optional[str] = None, extra: Iterable[str] = ()) -> List[str]:
    """kube-system, the CNI's namespace (when known) and extra names: validated, sorted, unique."""
    names = list(DEFAULT_EXEMPT_NAMESPACES) + list(extra)
    if cni:
        names.append(CNI_NAMESPACES.get(cni, cni))
    return sorted({dns1123_label(n, "exempt namespace") for n in names})


def admission_configuration(defaults: PssLabels,
                            exempt_namespaces: Sequence[str] = DEFAULT_EXEMPT_NAMESPACES) -> str:
    """The AdmissionConfiguration YAML for `defaults` (unset modes: privileged:latest).

    The API server decodes it strictly and rejects duplicate exemptions, so the
    namespaces are validated and de-duplicated here.
    """
    settings = {}
    for mode in MODES:
        policy = getattr(defaults, mode) or ModePolicy(DEFAULT_LEVEL)
        settings[mode] = policy.level
        settings[f"{mode}-version"] = policy.version
    namespaces = sorted({dns1123_label(n, "exempt namespace") for n in exempt_namespaces})
    document = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AdmissionConfiguration",
        "plugins": [{
            "name": "PodSecurity",
            "configuration": {
                "apiVersion": "pod-security.admission.config.k8s.io/v1",
                "kind": "PodSecurityConfiguration",
                "defaults": settings,
                "exemptions": {"usernames": [], "runtimeClasses": [], "namespaces": namespaces},
            },
        }],
    }
    header = "# Pod Security cluster default, written by rootlesskube (read by kube-apiserver).\n"
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
