"""The manifest loader: same objects as yaml.safe_load, locations, Lists, and errors."""

from __future__ import annotations

import pytest
import yaml

from rootlesskube.pss.manifests import Document, ManifestError, load_text, pod_spec_of

TRICKY = """\
base: &b {a: 1, b: [x, 2.5, null, true, 0x10, "07", 1_000]}
kind: Pod
m:
  <<: *b
  c: 3
d: *b
t: 2001-12-14
s: !!set {a: null}
"""


def test_objects_equal_what_the_safe_loader_builds():
    assert load_text(TRICKY, "f")[0].obj == yaml.safe_load(TRICKY)


def test_unsafe_tags_are_rejected_with_their_line():
    with pytest.raises(ManifestError, match=r"^f:2:4: not valid YAML: the tag "
                                            r"'tag:yaml.org,2002:python/object' is not allowed$"):
        load_text("kind: Pod\nx: !!python/object {}\n", "f")


def test_documents_know_file_index_and_line_and_skip_empty_documents():
    text = "---\n---\nkind: Pod\nmetadata: {name: a}\n---\n# c\nkind: Job\nmetadata: {generateName: j-}\n"
    docs = load_text(text, "m.yaml")
    assert [(d.file, d.doc_index, d.line, d.kind, d.name, d.item) for d in docs] == [
        ("m.yaml", 2, 3, "Pod", "a", None), ("m.yaml", 3, 7, "Job", "j-", None)]


def test_pod_spec_of_each_kind():
    spec = {"containers": []}
    assert pod_spec_of({"kind": "Pod", "metadata": {"name": "p"}, "spec": spec}) == ({"name": "p"}, spec)
    assert pod_spec_of({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}) == ({}, spec)
    assert pod_spec_of({"kind": "ReplicationController", "spec": {}}) is None
    assert pod_spec_of({"kind": "Service", "spec": {}}) is None
    assert isinstance(load_text('{"kind": "Pod"}', "x.json")[0], Document)
