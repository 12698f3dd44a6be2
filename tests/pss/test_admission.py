"""The cluster-wide default: an AdmissionConfiguration the API server accepts."""

from __future__ import annotations

import pytest
import yaml

from rootlesskube.errors import UsageError
from rootlesskube.pss.admission import admission_configuration, exemptions_for
from rootlesskube.pss.labels import ModePolicy, PssLabels
from tests.conftest import CONTRACTS


def _config(text):
    document = yaml.safe_load(text)
    assert document["apiVersion"] == "apiserver.config.k8s.io/v1"
    assert document["kind"] == "AdmissionConfiguration"
    [plugin] = document["plugins"]
    assert plugin["name"] == "PodSecurity"
    return plugin["configuration"]


def test_same_shape_as_the_contract_sample():
    text = admission_configuration(
        PssLabels(enforce=ModePolicy("baseline"), audit=ModePolicy("restricted"), warn=ModePolicy("restricted")),
        exempt_namespaces=["kube-system"],
    )
    assert yaml.safe_load(text) == yaml.safe_load((CONTRACTS / "kind/pod-security-admission.yaml").read_text())


def test_unset_modes_default_to_privileged_latest_and_versions_are_kept():
    config = _config(admission_configuration(PssLabels(enforce=ModePolicy("restricted", "v1.30"))))
    assert config["apiVersion"] == "pod-security.admission.config.k8s.io/v1"
    assert config["kind"] == "PodSecurityConfiguration"
    assert list(config["defaults"].items()) == [
        ("enforce", "restricted"), ("enforce-version", "v1.30"),
        ("audit", "privileged"), ("audit-version", "latest"),
        ("warn", "privileged"), ("warn-version", "latest"),
    ]
    assert config["exemptions"] == {"usernames": [], "runtimeClasses": [], "namespaces": ["kube-system"]}


def test_cni_namespace_is_exempt_and_duplicates_are_removed():
    namespaces = exemptions_for("calico", extra=["kube-system", "monitoring"])
    assert namespaces == ["calico-system", "kube-system", "monitoring"]
    config = _config(admission_configuration(PssLabels(), exempt_namespaces=namespaces + ["kube-system"]))
    assert config["exemptions"]["namespaces"] == ["calico-system", "kube-system", "monitoring"]
    assert exemptions_for("kindnet") == ["kube-system"]


def test_invalid_exempt_namespace_is_a_usage_error():
    with pytest.raises(UsageError, match="exempt namespace 'Kube_System'"):
        admission_configuration(PssLabels(), exempt_namespaces=["Kube_System"])
