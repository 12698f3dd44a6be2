"""The PMM manifests against the Pod Security evaluator and `pss check`."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from rootlesskube.pss.evaluator import evaluate
from rootlesskube.workloads import pmm
from tests.workloads.pmm_world import BLOG_VIOLATION


@pytest.mark.parametrize("storage", ["pvc", "emptydir"])
def test_pmm3_is_allowed_at_restricted(storage):
    verdict = evaluate(pmm.statefulset_pmm3(storage=storage), "restricted", "latest")
    assert verdict.allowed and verdict.violations == []


def test_pmm3_statefulset_is_written_for_rootlesskube():
    spec = pmm.statefulset_pmm3()["spec"]["template"]["spec"]
    assert spec["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                                       "fsGroupChangePolicy": "OnRootMismatch", "runAsNonRoot": True,
                                       "seccompProfile": {"type": "RuntimeDefault"}}
    [container] = spec["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                             "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/v1/readyz", "port": "http"}
    assert container["readinessProbe"]["failureThreshold"] == 30
    assert {"name": "PMM_ENABLE_UPDATES", "value": "0"} in container["env"]
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "2Gi"}}
    assert container["image"] == "docker.io/percona/pmm-server:3.8.1"


def test_storage_is_a_claim_or_an_emptydir():
    pvc = pmm.statefulset_pmm3(storage="pvc")
    assert pvc["spec"]["volumeClaimTemplates"][0]["spec"]["resources"] == {"requests": {"storage": "10Gi"}}
    assert "storageClassName" not in pvc["spec"]["volumeClaimTemplates"][0]["spec"]  # the default class
    empty = pmm.statefulset_pmm3(storage="emptydir")
    assert "volumeClaimTemplates" not in empty["spec"]
    assert empty["spec"]["template"]["spec"]["volumes"][0] == {"name": "pmm-server-data", "emptyDir": {}}


def test_pmm2_plain_violates_restricted_with_the_blogs_four_violations():
    verdict = evaluate(pmm.statefulset_pmm2(False), "restricted", "latest")
    assert verdict.message() == BLOG_VIOLATION
    assert [v.reason for v in verdict.violations] == [
        "allowPrivilegeEscalation != false", "unrestricted capabilities", "runAsNonRoot != true", "seccompProfile"]


def test_pmm2_with_security_contexts_is_admitted():
    assert evaluate(pmm.statefulset_pmm2(True), "restricted", "latest").allowed


def test_the_password_is_generated_and_only_in_the_secret():
    first, second = pmm.new_password(), pmm.new_password()
    assert first != second and len(first) == 32 and first.lower() != "admin"
    objects = pmm.pmm3_objects(password=first)
    assert [o["kind"] for o in objects] == ["Secret", "Service", "StatefulSet"]
    assert base64.b64decode(objects[0]["data"]["PMM_ADMIN_PASSWORD"]).decode() == first
    assert first not in json.dumps(objects[1:])
    assert [o["kind"] for o in pmm.pmm3_objects()] == ["Service", "StatefulSet"]


def _write(tmp_path, name, objects):
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return str(path)


def test_pss_check_cli_accepts_pmm3_and_rejects_the_blogs_pmm2(cli, tmp_path):
    code, out, err = cli("pss", "check", "--level", "restricted", "-f",
                         _write(tmp_path, "pmm3.yaml", pmm.pmm3_objects(password="x" * 32)))
    assert (code, err) == (0, "")
    assert "StatefulSet/pmm-server" in out and "violates" not in out
    code, out, _ = cli("pss", "check", "--level", "restricted", "--json", "-f",
                       _write(tmp_path, "pmm2.yaml", pmm.pmm2_objects(False)))
    assert code == 1
    [record] = [r for r in json.loads(out) if r["allowed"] is False]
    assert record["message"] == BLOG_VIOLATION and record["name"] == "pmm-server"
