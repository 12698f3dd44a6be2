"""Every upstream PodSecurity fixture: same verdict, and each rejection holds upstream's required text."""

from __future__ import annotations

import csv

import pytest

from rootlesskube.pss import manifests
from rootlesskube.pss.evaluator import evaluate
from tests.conftest import CONFORMANCE

PSS = CONFORMANCE / "pss"


@pytest.fixture(scope="module")
def corpus():
    """(row, object) for every fixture, parsed once for the module."""
    with open(PSS / "expectations.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [(row, manifests.load([str(PSS / row["path"])])[0].obj) for row in rows]


def disagreements(corpus, version_of=lambda row: row["version"]):
    found = []
    for row, obj in corpus:
        result = evaluate(obj, row["level"], version_of(row))
        message = result.message()
        if row["expect"] == "pass":
            if not result.allowed:
                found.append((row["path"], "should pass", message))
        elif result.allowed:
            found.append((row["path"], "should fail", ""))
        elif row["error_substring"] not in message or "unknown forbidden reason" in message:
            found.append((row["path"], f"should contain {row['error_substring']!r}", message))
    return found


def test_the_corpus_is_complete(corpus):
    expects = [row["expect"] for row, _ in corpus]
    assert (len(corpus), expects.count("pass"), expects.count("fail")) == (4537, 1051, 3486)


def test_every_fixture_agrees_at_its_own_level_and_version(corpus):
    assert disagreements(corpus) == []


@pytest.mark.parametrize("label", ["latest", "v1.38", "v1.99"])
def test_latest_and_newer_versions_evaluate_as_the_newest_fixtures(corpus, label):
    newest = [(row, obj) for row, obj in corpus if row["version"] == "v1.37"]
    assert len(newest) == 49 + 99
    assert disagreements(newest, lambda row: label) == []


def test_messages_keep_the_version_label_as_written(corpus):
    row, obj = next((r, o) for r, o in corpus if r["path"] == "fixtures/restricted/v1.37/fail/runasuser0.yaml")
    assert evaluate(obj, "restricted", "v1.99").message().startswith('violates PodSecurity "restricted:v1.99": ')


def test_a_fixture_verdict_does_not_carry_to_other_versions(corpus):
    base = next(o for r, o in corpus if r["path"] == "fixtures/restricted/v1.0/pass/base.yaml")
    assert evaluate(base, "restricted", "v1.0").allowed
    assert evaluate(base, "restricted", "v1.8").message() == (
        'violates PodSecurity "restricted:v1.8": allowPrivilegeEscalation != false '
        '(containers "initcontainer1", "container1" must set securityContext.allowPrivilegeEscalation=false)'
    )
