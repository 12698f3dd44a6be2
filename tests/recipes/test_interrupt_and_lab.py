"""SIGTERM to a running `rootlesskube run` cleans up exactly once; the lab recipe brings up one cluster per user."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import yaml

from rootlesskube import cluster, paths
from rootlesskube.recipe import roster as host_lab
from rootlesskube.recipe.roster import Assignment
from tests.conftest import REPO
from tests.recipes.conftest import recipe_text


def test_sigterm_during_a_step_collects_evidence_and_cleans_up_once(standins, write_recipe, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("ROOTLESSKUBE_HOME", str(home))
    kubeconfig = cluster.kubeconfig_path("rk-smoke")
    # the namespace apply hangs (the cluster is up by then); the run is stopped there
    monkeypatch.setenv("RK_STANDIN_HANG", f"kubectl --kubeconfig {kubeconfig} apply")
    path = write_recipe(recipe_text(cleanup="always"))
    junit = tmp_path / "junit.xml"
    proc = subprocess.Popen([sys.executable, "-m", "tests.drivers.passing_doctor", "run", str(path), "--junit",
                             str(junit), "--artifacts", str(tmp_path / "evidence")],
                            cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not any("apply" in argv for argv in standins.argvs("kubectl")):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    kinds = [argv[1:3] for argv in standins.argvs("kind")]
    assert kinds.count(["delete", "cluster"]) == 1
    assert standins.tool_state("kind")["clusters"] == {}
    assert "error: interrupted by SIGTERM" in err
    assert out.splitlines()[-1] == ("recipe smoke: FAILED at \"namespace 'demo' on 'rk-smoke'\" "
                                    "(exit 130: interrupted (Ctrl-C or SIGTERM))")
    assert (tmp_path / "evidence" / "rk-smoke" / "events.json").is_file()
    import xml.etree.ElementTree as ET

    cases = ET.parse(junit).getroot().find("testsuite").findall("testcase")
    assert [(c.get("name"), c.find("failure") is not None) for c in cases] == [
        ("check the host for kind (doctor)", False), ("pss check (restricted:latest)", False),
        ("bring up the kind cluster 'rk-smoke'", False), ("namespace 'demo' on 'rk-smoke'", True),
        ("manifests in 'demo' on 'rk-smoke'", False), ("delete the cluster 'rk-smoke' (cleanup: always)", False)]
    assert cases[3].find("failure").get("message") == "interrupted by SIGTERM"


LAB_EXTRA = """lab:
  roster: {roster}
  portMappings:
    - {{containerPort: 30443, offset: 1}}"""


def test_the_lab_recipe_brings_up_a_cluster_per_roster_user_with_their_ports(cli, standins, write_recipe, tmp_path):
    roster = tmp_path / "rootlesskube-lab.csv"
    rows = [Assignment(user, 1001 + i, 100000 + 65536 * i, 65536, 100000 + 65536 * i, 65536, 20000 + 10 * i,
                       20009 + 10 * i) for i, user in enumerate(["student1", "student2", "student3"])]
    roster.write_text(host_lab.roster_text(roster, rows))  # the host setup's own writer
    text = recipe_text(name="workshop", cluster="lab", cleanup="never", extra=LAB_EXTRA.format(roster=roster))
    code, out, err = cli("run", write_recipe(text), "--json")
    assert code == 0, err
    report = json.loads(out)
    names = ["lab-student1", "lab-student2", "lab-student3"]
    assert [s["name"] for s in report["steps"] if s["name"].startswith("bring up")] == [
        f"bring up the kind cluster {n!r}" for n in names]
    assert len(report["steps"]) == 2 + 3 * 3
    assert [k["name"] for k in report["kept_clusters"]] == list(reversed(names))
    for i, name in enumerate(names):
        config = yaml.safe_load((paths.state_dir() / "clusters" / name / "kind-config.yaml").read_text())
        assert config["networking"]["apiServerPort"] == 20000 + 10 * i
        assert config["nodes"][0]["extraPortMappings"] == [
            {"containerPort": 30443, "hostPort": 20001 + 10 * i, "listenAddress": "127.0.0.1", "protocol": "TCP"}]
        assert cluster.load_record(name).state == "ready"
    assert sorted(standins.tool_state("kind")["clusters"]) == names


def test_a_roster_user_brings_up_only_their_own_cluster(cli, standins, write_recipe, tmp_path):
    import pwd

    me = pwd.getpwuid(os.getuid()).pw_name
    roster = tmp_path / "rootlesskube-lab.csv"
    rows = [Assignment(user, 1001 + i, 100000 + 65536 * i, 65536, 100000 + 65536 * i, 65536, 20000 + 10 * i,
                       20009 + 10 * i) for i, user in enumerate(["student1", me, "student3"])]
    roster.write_text(host_lab.roster_text(roster, rows))
    text = recipe_text(name="workshop", cluster="lab", cleanup="never", extra=LAB_EXTRA.format(roster=roster))
    code, out, err = cli("run", write_recipe(text), "--dry-run")
    assert code == 0, err
    assert f"create or reuse kind cluster lab-{me}; API server on 127.0.0.1:20010" in out
    assert "lab-student1" not in out and "lab-student3" not in out


def test_the_shipped_lab_recipe_plans_from_the_roster_in_the_working_directory(cli, standins, tmp_path,
                                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    roster = tmp_path / "rootlesskube-lab.json"
    roster.write_text(host_lab.roster_text(roster, [Assignment("ana", 1001, 100000, 65536, 100000, 65536,
                                                               20000, 20004)]))
    code, out, err = cli("run", "lab", "--dry-run")
    assert code == 0, err
    assert ("     create or reuse kind cluster lab-ana; API server on 127.0.0.1:20000; host port 20001 -> node "
            "port 30443; wait 300s for Ready nodes") in out.splitlines()
    roster.write_text(host_lab.roster_text(roster, [Assignment("ana_", 1001, 100000, 65536, 100000, 65536,
                                                               20000, 20004)]))
    code, out, err = cli("run", "lab", "--dry-run")
    assert code == 2
    assert err.startswith("error: the cluster name of lab user 'ana_' 'lab-ana_' is not a valid DNS-1123 label")
    assert standins.calls() == []


USERNETES_LAB = """apiVersion: rootlesskube.dev/v1alpha1
kind: Recipe
metadata: {{name: workshop}}
cluster: {{driver: usernetes, name: lab}}
lab:
  roster: {roster}
namespaces:
  - name: secure-namespace
    podSecurity: {{enforce: restricted}}
workloads:
  - {{type: pmm3, namespace: secure-namespace}}
"""


def test_a_usernetes_lab_gives_each_user_its_own_api_etcd_kubelet_and_flannel_ports(write_recipe, tmp_path):
    from rootlesskube.drivers.usernetes import UsernetesDriver
    from rootlesskube.recipe import load as recipe

    roster = tmp_path / "rootlesskube-lab.json"
    rows = [Assignment(user, 1001 + i, 100000 + 65536 * i, 65536, 100000 + 65536 * i, 65536, 20000 + 5 * i,
                       20004 + 5 * i) for i, user in enumerate(["ana", "ben", "cy"])]
    roster.write_text(host_lab.roster_text(roster, rows))
    specs = recipe.load(str(write_recipe(USERNETES_LAB.format(roster=roster)))).clusters()
    assert [(s.name, s.api_port, s.port_mappings) for s in specs] == [
        ("lab-ana", 20000, ()), ("lab-ben", 20005, ()), ("lab-cy", 20010, ())]
    for spec, first in zip(specs, (20000, 20005, 20010)):
        spec.validate()
        # what the driver passes to make: every port of the user's block, none of Usernetes's defaults
        assert UsernetesDriver()._ports(spec) == {"PORT_KUBE_APISERVER": str(first), "PORT_ETCD": str(first + 1),
                                                  "PORT_KUBELET": str(first + 2), "PORT_FLANNEL": str(first + 3)}


def test_a_usernetes_lab_refuses_port_mappings_and_a_block_too_small(write_recipe, tmp_path):
    import pytest

    from rootlesskube.errors import UsageError
    from rootlesskube.recipe import load as recipe

    roster = tmp_path / "rootlesskube-lab.json"
    roster.write_text(host_lab.roster_text(roster, [Assignment("ana", 1001, 100000, 65536, 100000, 65536,
                                                               20000, 20002)]))
    text = USERNETES_LAB.format(roster=roster)
    with pytest.raises(UsageError, match="Usernetes needs 4 .API server, etcd, kubelet, flannel."):
        recipe.load(str(write_recipe(text))).clusters()
    path = write_recipe(text.replace(f"  roster: {roster}\n", f"  roster: {roster}\n  portMappings:\n"
                                     "    - {containerPort: 30443, offset: 1}\n"))
    with pytest.raises(UsageError) as info:
        recipe.load(str(path))
    assert str(info.value).startswith(f"{path}:8:5: portMappings are set for the usernetes driver; expected no "
                                      "portMappings")
