"""`pmm deploy`, `password`, `remove` and the PMM 2 control against the kubectl and kind stand-ins."""

from __future__ import annotations

import base64
import hashlib
import json
import types
from pathlib import Path

import pytest

from rootlesskube.workloads import pmm
from tests.workloads.pmm_world import BLOG_VIOLATION, FAILED_CREATE_MESSAGE, PMM3_START_LOG


def deploy(cli, archive, *extra):
    return cli("pmm", "deploy", "--cluster", "rk-pmm", "--image-archive", archive, "--wait", "2s", *extra)


def test_deploy_pmm3_succeeds(cli, world, archive):
    world.create_cluster()
    world.pmm3_running()
    code, out, err = deploy(cli, archive, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["outcome"] == "ready" and report["storage"] == "pvc"
    assert report["pod"]["phase"] == "Running" and report["pod"]["ready"] is True
    assert report["pod"]["node"] == "rk-pmm-control-plane"
    assert report["applied"] == ["secret/pmm-secret created", "service/pmm-server created",
                                 "statefulset.apps/pmm-server created"]
    labels = world.scenario.objects.get("Namespace", "pmm")["metadata"]["labels"]
    for mode in ("enforce", "warn", "audit"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    sts = world.stored("StatefulSet", "pmm-server")
    assert sts["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 1000
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "pmm-server-data"
    # the image went in through the driver: kind load image-archive FILE --name CLUSTER
    kind_calls = [json.loads(line)["argv"] for line in world.json_calls().splitlines()
                  if json.loads(line)["tool"] == "kind"]
    assert ["kind", "load", "image-archive", archive, "--name", "rk-pmm"] in kind_calls
    # the password: generated, in the cluster's Secret, in no argv and not on stdout/stderr
    password = base64.b64decode(world.stored("Secret", "pmm-secret")["data"]["PMM_ADMIN_PASSWORD"]).decode()
    assert len(password) == 32
    assert password not in world.json_calls() and password not in out and password not in err
    code, out, err = cli("pmm", "password", "--cluster", "rk-pmm")
    assert (code, out, err) == (0, password + "\n", "")


def test_a_second_deploy_keeps_the_password(cli, world, archive):
    world.create_cluster()
    world.pmm3_running()
    assert deploy(cli, archive)[0] == 0
    first = world.stored("Secret", "pmm-secret")["data"]
    code, out, err = deploy(cli, archive, "--json")
    assert code == 0, err
    assert world.stored("Secret", "pmm-secret")["data"] == first
    assert json.loads(out)["applied"] == ["service/pmm-server unchanged", "statefulset.apps/pmm-server unchanged"]
    assert "Secret pmm-secret exists: its password is kept" in json.loads(out)["notes"]


def test_no_default_storage_class_falls_back_to_emptydir_and_says_so(cli, world, archive):
    world.create_cluster(default_storage_class=False)
    world.pmm3_running()
    code, out, err = deploy(cli, archive, "--json")
    assert code == 0, err
    assert json.loads(out)["storage"] == "emptydir"
    assert "the cluster has no default StorageClass (Usernetes has none): /srv is an emptyDir" in err
    sts = world.stored("StatefulSet", "pmm-server")
    assert "volumeClaimTemplates" not in sts["spec"]
    assert {"name": "pmm-server-data", "emptyDir": {}} in sts["spec"]["template"]["spec"]["volumes"]


def test_asking_for_a_claim_without_a_default_class_is_refused(cli, world, archive):
    world.create_cluster(default_storage_class=False)
    code, out, err = deploy(cli, archive, "--storage", "pvc")
    assert code == 2 and out == ""
    assert "error: the cluster has no default StorageClass, so PMM's volume claim would stay Pending" in err
    assert "hint: use --storage emptydir" in err
    assert world.stored("StatefulSet", "pmm-server") is None


def test_readiness_never_comes(cli, world, archive):
    world.create_cluster()
    world.pmm3_running(ready=False)
    world.event("Pod", pmm.POD, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500",
                count=12)
    world.scenario.logs(pmm.POD, "pmm", PMM3_START_LOG)
    code, out, err = deploy(cli, archive)
    assert code == 4 and out == ""
    assert ("error: pod pmm/pmm-server-0 was not Running and Ready after 2s: Running, not Ready, restarts 0\n"
            "events:\n"
            "  Warning Unhealthy (x12): Readiness probe failed: HTTP probe failed with statuscode: 500\n"
            "logs (last 40 lines):\n"
            "  Running as UID:GID 1000:1000, setting up for arbitrary UID...\n") in err
    assert "hint: give it longer with --wait" in err
    assert ["kubectl", "--kubeconfig", world.scenario.objects.root.parents[2].joinpath(
        "rk-home", "state", "clusters", "rk-pmm", "kubeconfig").as_posix(),
        "logs", "pmm-server-0", "--namespace", "pmm", "-c", "pmm-server", "--tail=40"] in world.calls()


def test_a_pending_pod_that_never_becomes_ready_is_named_pending_with_its_events(cli, world, archive):
    world.create_cluster()
    world.pmm3_pending()
    unschedulable = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."
    world.event("Pod", pmm.POD, "FailedScheduling", unschedulable, count=4)
    code, out, err = deploy(cli, archive)
    assert code == 4 and out == ""
    assert ("error: pod pmm/pmm-server-0 was not Running and Ready after 2s: Pending, not Ready, restarts 0\n"
            "events:\n"
            f"  Warning FailedScheduling (x4): {unschedulable}\n"
            "logs (last 40 lines):\n"
            "  (none)\n") in err


class UserImageStore:
    """`podman.Podman` for prepare_image, recorded: the images in the user's store, pull adds one, save writes
    the archive kind loads (no real podman runs; the real pull is test_pmm_podman's and the drivers')."""

    def __init__(self, images=(), node_images=None):
        self.images, self.calls = set(images), []
        self.node_images = node_images or {}  # node container -> [(id, repo tags)] of `crictl images -o json`

    def __call__(self):
        return self

    def image_inspect(self, ref):
        self.calls.append(("image inspect", ref))
        return {"Id": hashlib.sha256(ref.encode()).hexdigest(), "RepoTags": [ref]}

    def call(self, *args, check=True, timeout=None):
        """Only `podman exec NODE crictl images -o json` (rootlesskube.images asks every node)."""
        assert args[0] == "exec" and args[2:] == ("crictl", "images", "-o", "json"), args
        self.calls.append(("exec crictl images", args[1]))
        held = self.node_images.get(args[1])
        if held is None:
            return types.SimpleNamespace(returncode=125, stdout="", stderr="Error: no container with name or id")
        images = [{"id": i, "repoTags": tags} for i, tags in held]
        return types.SimpleNamespace(returncode=0, stdout=json.dumps({"images": images}))

    def image_exists(self, ref):
        self.calls.append(("image exists", ref))
        return ref in self.images

    def pull(self, ref, timeout=1800, on_line=None):
        self.calls.append(("pull", ref))
        self.images.add(ref)

    def save(self, ref, archive, timeout=900, on_line=None):
        self.calls.append(("save", ref))
        Path(archive).write_bytes(b"docker-archive of " + ref.encode())


def kind_loads(world):
    return [json.loads(line)["argv"] for line in world.json_calls().splitlines()
            if json.loads(line)["tool"] == "kind" and json.loads(line)["argv"][1] == "load"]


@pytest.mark.parametrize("in_store", [False, True])
def test_the_image_is_pulled_into_the_users_store_only_when_missing_then_loaded(cli, world, monkeypatch, in_store):
    from rootlesskube import paths, podman

    store = UserImageStore([pmm.PMM3_IMAGE] if in_store else [])
    monkeypatch.setattr(podman, "Podman", store)
    world.create_cluster()
    world.pmm3_running()
    code, out, err = cli("pmm", "deploy", "--cluster", "rk-pmm", "--wait", "2s", "--json")
    assert code == 0, err
    pulled = [] if in_store else [("pull", pmm.PMM3_IMAGE)]
    assert store.calls == [("image exists", pmm.PMM3_IMAGE), *pulled, ("image inspect", pmm.PMM3_IMAGE),
                           ("exec crictl images", "rk-pmm-control-plane"), ("save", pmm.PMM3_IMAGE)]
    archive = paths.data_dir() / "images" / "docker.io_percona_pmm-server_3.8.1.tar"
    [load] = kind_loads(world)
    assert load == ["kind", "load", "image-archive", str(archive), "--name", "rk-pmm"]
    assert not archive.exists()  # the store keeps the image; the archive was only the way in
    done = (f"{pmm.PMM3_IMAGE} was already in your Podman store" if in_store
            else f"pulled {pmm.PMM3_IMAGE} with rootless Podman (kept in your store)")
    assert f"{done}; loaded into cluster rk-pmm" in json.loads(out)["notes"]


def test_an_image_every_node_already_holds_is_not_saved_nor_loaded(cli, world, monkeypatch):
    """The warm path: the node's CRI reports the image's config digest as its id (containerd
    internal/cri/store/image/image.go @301026e), the same as Podman's image id: no save, no kind load."""
    from rootlesskube import podman

    held = "sha256:" + hashlib.sha256(pmm.PMM3_IMAGE.encode()).hexdigest()
    store = UserImageStore([pmm.PMM3_IMAGE], node_images={"rk-pmm-control-plane": [(held, [pmm.PMM3_IMAGE])]})
    monkeypatch.setattr(podman, "Podman", store)
    world.create_cluster()
    world.pmm3_running()
    code, out, err = cli("pmm", "deploy", "--cluster", "rk-pmm", "--wait", "2s", "--json")
    assert code == 0, err
    assert store.calls == [("image exists", pmm.PMM3_IMAGE), ("image inspect", pmm.PMM3_IMAGE),
                           ("exec crictl images", "rk-pmm-control-plane")]
    assert kind_loads(world) == []
    assert (f"{pmm.PMM3_IMAGE} was already in your Podman store; every node of cluster rk-pmm already holds it "
            "(same image id): not loaded") in json.loads(out)["notes"]


def test_no_pod_at_all_reports_the_statefulsets_events(cli, world, archive):
    world.create_cluster()
    world.event("StatefulSet", pmm.NAME, "FailedCreate", FAILED_CREATE_MESSAGE, count=15)
    code, _, err = deploy(cli, archive)
    assert code == 4
    assert "was not Running and Ready after 2s: no pod was created\nevents:\n" in err
    assert f"  Warning FailedCreate (x15): {FAILED_CREATE_MESSAGE}\n" in err


def control_world(world):
    """The world of the PMM 2 control: its own default namespace."""
    world.ns = pmm.CONTROL_NAMESPACE
    world.create_cluster()
    return world


def test_pmm2_control_is_rejected_then_crash_loops(cli, world, archive):
    control_world(world)
    world.pmm2_rejected()
    world.pmm2_crashlooping()
    code, out, err = deploy(cli, archive, "--version", "2", "--expect-failure", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["outcome"] == "negative control held"
    plain, secure = report["control"]
    assert plain["manifest"] == "01.pmm2.yaml" and plain["admitted"] is False
    assert plain["rejection"] == BLOG_VIOLATION == plain["predicted"]
    assert plain["warnings"] == ["would violate" + BLOG_VIOLATION[len("violates"):]]
    assert secure["manifest"] == "03.pmm2-secure.yaml" and secure["admitted"] is True
    assert secure["warnings"] == []
    assert secure["crash_line"] == "Error: Can't drop privilege as nonroot user"
    assert (secure["crash_evidence"], secure["crash_log"]) == ("supervisord", "current")
    assert secure["pod"]["waiting"] == "CrashLoopBackOff" and secure["pod"]["last_exit_code"] == 2
    assert report["applied"] == ["statefulset.apps/pmm-server created", "service/pmm-server created",
                                 "statefulset.apps/pmm-server created", "service/pmm-server unchanged"]
    stored = world.stored("StatefulSet", "pmm-server")
    assert stored["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] is True
    assert report["namespace"] == "pmm2-control"
    labels = world.scenario.objects.get("Namespace", "pmm2-control")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_pmm2_control_ignores_a_failed_create_event_of_an_earlier_statefulset(cli, world, archive):
    control_world(world)
    # an earlier run's StatefulSet (another uid) was rejected; this one is admitted and its pod runs
    world.event("StatefulSet", pmm.NAME, "FailedCreate", FAILED_CREATE_MESSAGE, count=15,
                uid="0b6f2a4e-earlier-run")
    world.scenario.seed(world.pod(pmm.statefulset_pmm2(False), {
        "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "pmm-server", "ready": True, "restartCount": 0, "state": {"running": {}}}]}))
    code, out, _ = deploy(cli, archive, "--version", "2", "--expect-failure", "--json")
    assert code == 4
    plain = json.loads(out)["control"][0]
    assert (plain["admitted"], plain["rejection"], plain["as_expected"]) == (True, None, False)


def test_pmm2_control_refuses_a_namespace_that_holds_pmm3_and_removes_its_own_leftover(cli, world, archive):
    world.create_cluster()
    world.pmm3_running()
    assert deploy(cli, archive)[0] == 0
    before = world.stored("StatefulSet", "pmm-server")
    code, out, err = deploy(cli, archive, "--version", "2", "--namespace", "pmm", "--expect-failure")
    assert code == 1 and out == ""
    assert (f"error: namespace pmm holds a StatefulSet pmm-server running {pmm.PMM3_IMAGE}, not the control's "
            f"{pmm.PMM2_IMAGE}: the PMM 2 control would replace it and then delete it") in err
    assert "hint: run the control in its own namespace (the default, pmm2-control)" in err
    assert world.stored("StatefulSet", "pmm-server") == before
    # without --namespace the control runs beside PMM 3, in pmm2-control, and PMM 3 is untouched
    world.ns = pmm.CONTROL_NAMESPACE
    world.scenario.seed({**pmm.statefulset_pmm2(True), "metadata": {"name": pmm.NAME, "namespace": world.ns}})
    world.pmm2_rejected()
    world.pmm2_crashlooping()
    code, out, err = deploy(cli, archive, "--version", "2", "--expect-failure", "--json")
    assert code == 0, err
    assert "removed StatefulSet pmm-server left in pmm2-control by an earlier run of the control" in \
        json.loads(out)["notes"]
    assert world.scenario.objects.get("StatefulSet", "pmm-server", "pmm") == before


def test_pmm2_control_without_expect_failure_is_a_failure(cli, world, archive):
    control_world(world)
    world.pmm2_rejected()
    world.pmm2_crashlooping()
    code, out, err = deploy(cli, archive, "--version", "2")
    assert code == 4 and out == ""
    assert (f"error: PMM 2 does not run in a restricted namespace:\n"
            f"  01.pmm2.yaml: rejected: {BLOG_VIOLATION} (expected: rejected at admission)\n"
            f"  03.pmm2-secure.yaml: Running, not Ready, waiting: CrashLoopBackOff, last exit 2 (Error), "
            f"restarts 2; current log (supervisord): Error: Can't drop privilege as nonroot user (expected: "
            f"admitted, then a crash as non-root: supervisord's \"Can't drop privilege as nonroot user\" or the "
            f"entrypoint's chown 'Operation not permitted')") in err


def test_pmm2_control_that_runs_is_not_the_expected_outcome(cli, world, archive):
    control_world(world)
    # a namespace that admits it, and an image that starts: nothing the blog shows
    world.scenario.seed(world.pod(pmm.statefulset_pmm2(False), {
        "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "pmm-server", "ready": True, "restartCount": 0, "state": {"running": {}}}]}))
    code, out, err = deploy(cli, archive, "--version", "2", "--expect-failure", "--json")
    assert code == 4
    report = json.loads(out)
    assert report["outcome"] == "negative control did not hold"
    assert [s["as_expected"] for s in report["control"]] == [False, False]
    assert report["control"][0]["seen"] == "admitted: pod Running, Ready, restarts 0"
    assert "error: the PMM 2 negative control did not fail the way the blog shows" in err


def test_remove(cli, world, archive):
    world.create_cluster()
    world.pmm3_running()
    assert deploy(cli, archive)[0] == 0
    code, _, err = cli("pmm", "remove", "--cluster", "rk-pmm")
    assert code == 0, err
    assert "removed from pmm: statefulset/pmm-server, service/pmm-server, secret/pmm-secret" in err
    assert world.stored("StatefulSet", "pmm-server") is None and world.stored("Secret", "pmm-secret") is None
    code, out, err = cli("pmm", "password", "--cluster", "rk-pmm")
    assert code == 1 and "there is no PMM admin password in namespace pmm" in err


def test_bad_input_is_a_clear_error(cli, world, archive, tmp_path):
    world.create_cluster()
    code, _, err = cli("pmm", "deploy", "--cluster", "rk-pmm", "--namespace", "Bad_NS")
    assert code == 2 and "error: the namespace 'Bad_NS' is not a valid DNS-1123 label" in err
    code, _, err = cli("pmm", "deploy", "--cluster", "rk-pmm", "--image-archive", str(tmp_path / "none.tar"))
    assert code == 2 and f"error: {tmp_path / 'none.tar'}: no such image archive" in err
    code, _, err = cli("pmm", "deploy", "--expect-failure")
    assert code == 2 and "--expect-failure" in err
    code, _, err = cli("pmm", "deploy", "--cluster", "nope")
    assert code == 1 and "error: rootlesskube knows no cluster named 'nope'" in err
    assert "Traceback" not in err
