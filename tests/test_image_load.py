"""rootlesskube.images without Podman: the ids, the node listing's format, a docker-archive's id, the CLI's refusals.

The real loads, with real rootless Podman and real node containers, are tests/test_image_load_podman.py.
"""

from __future__ import annotations

import hashlib
import json
import tarfile

import pytest

from rootlesskube import images
from tests.recipes.test_warm_run import docker_archive

HEX = "b073c69a36a18428ee368195e9a93a1b5045d08db341c3d1e0e50ddd453fa97d"


def test_ids_compare_with_or_without_the_algorithm():
    """Podman's {{.Id}} is bare hex (podman 4.3.1 here); crictl's and kind's are `sha256:`-prefixed
    (kind compares `docker image inspect -f {{ .Id }}`, prefixed, with crictl's status.id, @cda67ef)."""
    assert images.normal_id(HEX) == images.normal_id(f"sha256:{HEX}") == HEX
    assert images.normal_id(f"sha512:{HEX}") is None
    assert images.normal_id(HEX[:12]) is None
    assert images.normal_id(HEX + "\n") == HEX


def test_crictl_images_json_gives_the_ids_and_their_names():
    """The shape minikube parses from the same command (pkg/minikube/cruntime/cri.go crictlImages @c93a4cb)."""
    text = json.dumps({"images": [
        {"id": f"sha256:{HEX}", "repoTags": ["localhost/a:1"], "repoDigests": [], "size": "1", "uid": None,
         "username": ""},
        {"id": "not-an-id", "repoTags": []},
        {"repoTags": ["no id"]},
    ]})
    assert images.parse_crictl_images(text) == {HEX: {"localhost/a:1"}}
    assert images.parse_crictl_images('{"images": []}') == {}
    assert images.parse_crictl_images('{"images": null}') == {}


@pytest.mark.parametrize("ref, tags, names", [
    ("localhost/app:dev", ["localhost/app:dev", "localhost/other:1"], {"localhost/app:dev"}),
    ("app:dev", ["localhost/app:dev"], {"localhost/app:dev"}),  # podman save writes the full name (podman 4.3.1)
    ("busybox", ["docker.io/library/busybox:latest"], {"docker.io/library/busybox:latest"}),
    ("localhost/app:dev", [], {"localhost/app:dev"}),
])
def test_the_names_podman_gives_a_reference(ref, tags, names):
    assert images.store_names(ref, tags) == names


def test_an_id_is_held_only_under_the_wanted_name():
    held = {HEX: {"localhost/app:dev"}}
    assert images.holds(held, HEX, ["localhost/app:dev"])
    assert not images.holds(held, HEX, ["localhost/app:v2"])  # retagged: the kubelet looks for the new name
    assert not images.holds(held, "0" * 64, ["localhost/app:dev"])


def test_a_docker_archives_id_is_the_digest_of_its_config(tmp_path):
    image_id = docker_archive(tmp_path / "a.tar")
    with tarfile.open(tmp_path / "a.tar") as tar:
        assert image_id == hashlib.sha256(tar.extractfile(f"{image_id}.json").read()).hexdigest()
    assert images.archive_image(tmp_path / "a.tar") == (image_id, ("docker.io/percona/pmm-server:3",))
    (tmp_path / "b.tar").write_bytes(b"docker-archive stand-in")
    assert images.archive_image(tmp_path / "b.tar") is None
    assert images.archive_image(tmp_path / "missing.tar") is None


class Driver:
    name = "kind"

    def __init__(self, held):
        self.held, self.loaded = held, []

    def held_images(self, cluster):
        return self.held

    def load_image(self, cluster, archive):
        self.loaded.append(archive)


def test_an_archive_whose_image_every_node_holds_is_not_loaded(tmp_path):
    image_id = docker_archive(tmp_path / "a.tar")
    retagged = Driver({image_id: {"docker.io/percona/pmm-server:other"}})
    assert images.load_archive(retagged, "c", tmp_path / "a.tar").loaded == [str(tmp_path / "a.tar")]
    held = Driver({image_id: {"docker.io/percona/pmm-server:3"}})
    report = images.load_archive(held, "c", tmp_path / "a.tar")
    assert (report.loaded, report.skipped, held.loaded) == ([], [str(tmp_path / "a.tar")], [])
    empty = Driver({})
    report = images.load_archive(empty, "c", tmp_path / "a.tar")
    assert (report.loaded, empty.loaded) == ([str(tmp_path / "a.tar")], [tmp_path / "a.tar"])


@pytest.mark.parametrize("args, message", [
    (["load"], "error: name at least one image"),
    (["load", "-bad"], "error: Unknown switch -b"),
    (["load", "bad ref!"], "error: 'bad ref!' is not a valid image reference"),
    (["load", "localhost/a:1", "--name", "Bad_Name"], "error: "),
])
def test_bad_input_is_refused_before_anything_runs(cli, args, message):
    code, out, err = cli("image", *args)
    assert code == 2, err
    assert out == ""
    assert err.startswith(message)


def test_an_unknown_cluster_is_named(cli):
    code, out, err = cli("image", "load", "localhost/a:1", "--name", "nope")
    assert code != 0 and out == ""
    assert "nope" in err.splitlines()[0]
