"""The PMM 3 rootless blog's manifests: the verdicts and the exact message the blog shows."""

from __future__ import annotations

import json

import pytest

from rootlesskube.pss import manifests
from rootlesskube.pss.evaluator import evaluate
from tests.conftest import SHARED

BLOG = SHARED / "reference" / "pmm-blog"

# seeds/pmm3-rootless-blog.md, the warning printed by `kubectl apply -f 01.pmm2.yaml -n secure-namespace`
BLOG_MESSAGE = (
    'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "pmm-server" must set '
    'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "pmm-server" must set '
    'securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "pmm-server" must set '
    'securityContext.runAsNonRoot=true), seccompProfile (pod or container "pmm-server" must set '
    'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
)


def statefulset(name):
    workloads = [d for d in manifests.load([str(BLOG / name)]) if manifests.has_pod_spec(d.obj)]
    assert [(d.kind, d.name, d.doc_index, d.line) for d in workloads] == [("StatefulSet", "pmm-server", 1, 1)]
    return workloads[0].obj


def test_the_blog_quotes_the_message_we_assert():
    blog = (SHARED / "seeds" / "pmm3-rootless-blog.md").read_text()
    assert f"Warning: would violate{BLOG_MESSAGE[len('violates'):]}\n" in blog
    assert f'failed error: pods "pmm-server-0" is forbidden: {BLOG_MESSAGE}\n' in blog


@pytest.mark.parametrize("name", ["01.pmm2.yaml", "02.pmm3.yaml"])
def test_the_plain_manifests_are_rejected_with_the_blogs_words(name):
    result = evaluate(statefulset(name), "restricted", "latest")
    assert (result.allowed, result.message()) == (False, BLOG_MESSAGE)


@pytest.mark.parametrize("name", ["03.pmm2-secure.yaml", "04.pmm3-secure.yaml"])
def test_the_secured_manifests_are_admitted(name):
    assert evaluate(statefulset(name), "restricted", "latest").allowed


def test_pss_check_with_the_blogs_namespace(cli):
    code, out, err = cli("pss", "check", "--namespace-labels-from", BLOG / "00.pss.yaml",
                         "-f", BLOG / "02.pmm3.yaml", "-f", BLOG / "04.pmm3-secure.yaml", "--json")
    records = json.loads(out)
    assert code == 1 and err == ""
    assert [(r["file"], r["allowed"], r["message"]) for r in records] == [
        (str(BLOG / "02.pmm3.yaml"), False, BLOG_MESSAGE),
        (str(BLOG / "04.pmm3-secure.yaml"), True, ""),
    ]
