"""A way past a doctor check: `up`/`run --ignore-checks ID[,ID...]|all` and a recipe's `doctor: {ignore: [...]}`.

Ignored failures stay in every report, marked ignored, and the run says so at the end;
an id the doctor does not have for the driver is a usage error before anything runs.
"""

from __future__ import annotations

import json

import pytest

from rootlesskube import cluster
from rootlesskube.host.doctor import DoctorReport
from rootlesskube.host.model import FAIL, PASS, WARN, CheckResult
from tests.recipes.conftest import recipe_text

CGROUP = CheckResult("cgroup.v2", FAIL, "cgroup v2 unified hierarchy", "hybrid", fix="boot with cgroup_no_v1=all")
FUSE = CheckResult("dev.fuse", FAIL, "/dev/fuse usable by alice", "crw-------", fix="chmod 0666 /dev/fuse")


def report(*checks: CheckResult) -> DoctorReport:
    return DoctorReport("kind", "alice", {"os": "Debian GNU/Linux 12 (bookworm)"},
                        [CheckResult("os", PASS, "Operating system", "Debian"), *checks,
                         CheckResult("limits.nofile", WARN, "Open-file limit", "1024", fix="raise it")])


@pytest.fixture
def doctor(monkeypatch):
    """The doctor's report for every call (this machine's real verdicts are not the point here)."""
    calls = []

    def install(made: DoctorReport):
        def fake(driver):
            calls.append(driver)
            return made
        monkeypatch.setattr(cluster, "DOCTOR", fake)
        return calls
    return install


def test_up_goes_past_an_ignored_failure_and_says_so_at_the_end(cli, standins, doctor):
    doctor(report(CGROUP))
    code, out, err = cli("up", "--name", "rk-dev", "--ignore-checks", "cgroup.v2", "--json")
    assert code == 0, err
    assert json.loads(out)["ignored_checks"] == ["cgroup.v2"]
    assert "warning: ignoring the failing check cgroup.v2 (--ignore-checks): cgroup v2 unified hierarchy: hybrid" \
        in err
    assert err.strip().splitlines()[-1] == ("warning: 1 failing doctor check(s) ignored (--ignore-checks): "
                                            "cgroup.v2; the host is not ready by the doctor's measure")
    assert cluster.load_record("rk-dev").ignored_checks == ["cgroup.v2"]


def test_a_bring_up_that_fails_after_going_past_a_check_names_it_at_the_end(cli, standins, doctor):
    doctor(report(CGROUP))
    standins.scenario("kind", create="node-boot-failure")
    code, _, err = cli("up", "--name", "rk-dev", "--ignore-checks", "cgroup.v2")
    assert code == 1
    after = err.split("FAILED: create the cluster 'rk-dev'", 1)[1]  # after the failure and its cleanup
    assert ("warning: 1 failing doctor check(s) ignored (--ignore-checks): cgroup.v2; the host is not ready by the "
            "doctor's measure\nerror: ") in after


def test_a_failure_that_is_not_ignored_still_stops_up_and_both_are_reported(cli, standins, doctor):
    doctor(report(CGROUP, FUSE))
    code, out, err = cli("up", "--name", "rk-dev", "--ignore-checks", "cgroup.v2", "--json")
    assert code == 3
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert (checks["cgroup.v2"]["status"], checks["cgroup.v2"]["ignored"]) == ("fail", True)
    assert (checks["dev.fuse"]["status"], checks["dev.fuse"]["ignored"]) == ("fail", False)
    assert json.loads(out)["ready"] is False
    assert ("error: the host is not ready for kind:\n"
            "  [fail] dev.fuse: /dev/fuse usable by alice: crw-------\n      chmod 0666 /dev/fuse\n"
            "  [fail, ignored by --ignore-checks] cgroup.v2: cgroup v2 unified hierarchy: hybrid\n"
            "      boot with cgroup_no_v1=all\n") in err
    assert standins.calls() == []


def test_all_goes_past_every_failure_but_not_without_the_switch(cli, standins, doctor):
    doctor(report(CGROUP, FUSE))
    assert cli("up", "--name", "rk-dev")[0] == 3
    code, out, err = cli("up", "--name", "rk-dev", "--ignore-checks", "all")
    assert code == 0, err
    assert "2 failing doctor check(s) ignored (--ignore-checks): cgroup.v2, dev.fuse" in err


@pytest.mark.parametrize("value, message", [
    ("cgroup.v3", "--ignore-checks: the doctor has no check 'cgroup.v3' for the kind driver"),
    ("module.vxlan", "--ignore-checks: the doctor has no check 'module.vxlan' for the kind driver"),  # usernetes'
    ("cgroup.v2;id", "--ignore-checks: 'cgroup.v2;id' is not a check id"),
    ("cgroup.v2,,dev.fuse", "--ignore-checks: '' is not a check id"),
    ("all,cgroup.v2", "--ignore-checks: `all` ignores every failing check; it is not listed with others"),
])
def test_a_bad_id_is_a_usage_error_before_anything_runs(cli, standins, doctor, value, message):
    asked = doctor(report(CGROUP))
    code, out, err = cli("up", "--name", "rk-dev", "--ignore-checks", value)
    assert (code, out) == (2, "")
    assert f"error: {message}" in err
    assert asked == [] and standins.calls() == []


def test_ids_are_those_the_doctor_reports_for_the_driver(tmp_path):
    from rootlesskube.errors import UsageError
    from rootlesskube.host import ignore
    from rootlesskube.host.doctor import run_doctor
    from tests.host.hosttree import USER, HostTree, healthy

    view = healthy(HostTree(tmp_path / "host")).view()
    for driver in ("kind", "minikube", "usernetes"):
        assert ignore.known_ids(driver) == [c.id for c in run_doctor(view, USER, driver).checks]
    assert ignore.validate(ignore.parse("module.vxlan, CGROUP.V2"), "usernetes") == ("module.vxlan", "cgroup.v2")
    with pytest.raises(UsageError, match="no check 'module.vxlan' for the kind driver"):
        ignore.validate(["module.vxlan"], "kind")


def test_a_recipe_ignores_with_doctor_ignore_and_the_report_says_so(cli, standins, write_recipe, doctor):
    doctor(report(CGROUP))
    path = write_recipe(recipe_text(extra="doctor:\n  ignore: [cgroup.v2]"))
    code, out, err = cli("run", path, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["ignored_checks"] == ["cgroup.v2"]
    assert data["steps"][0]["message"] == "1 failing check(s) ignored (doctor.ignore): cgroup.v2"
    assert {s["status"] for s in data["steps"]} == {"passed"}


def test_the_terminal_summary_ends_with_the_ignored_checks(cli, standins, write_recipe, doctor):
    doctor(report(CGROUP, FUSE))
    path = write_recipe(recipe_text(extra="doctor:\n  ignore: [cgroup.v2]"))
    code, out, err = cli("run", path, "--ignore-checks", "dev.fuse")
    assert code == 0, err
    assert out.splitlines()[-2:] == [
        "ignored: 2 failing doctor check(s) ignored (doctor.ignore and --ignore-checks): cgroup.v2, dev.fuse; the "
        "host is not ready by the doctor's measure", "recipe smoke: passed (6 steps)"]


def test_without_ignore_the_recipe_stops_at_the_doctor(cli, standins, write_recipe, doctor):
    doctor(report(CGROUP))
    code, out, _ = cli("run", write_recipe(recipe_text()), "--json")
    assert code == 3
    assert json.loads(out)["ignored_checks"] == []


def test_a_recipe_with_an_unknown_check_id_names_file_line_and_column(cli, standins, write_recipe, doctor):
    asked = doctor(report(CGROUP))
    path = write_recipe(recipe_text(extra="doctor:\n  ignore: [cgroup.v2, module.vxlan]"))
    code, out, err = cli("run", path)
    assert (code, out) == (2, "")
    assert (f"error: {path}:9:23: doctor.ignore: the doctor has no check 'module.vxlan' for the kind driver; expected "
            "a check id the doctor has for the kind driver (`rootlesskube doctor --driver kind` lists them), or all") \
        in err
    assert asked == [] and standins.calls() == []


@pytest.mark.parametrize("extra, problem", [
    ("doctor:\n  ignore: [all, cgroup.v2]", "9:11: doctor.ignore: `all` ignores every failing check"),
    ("doctor:\n  ignore: ['rm -rf']", "9:12: doctor.ignore: 'rm -rf' is not a check id"),
    ("doctor:\n  skip: [cgroup.v2]", "9:3: unknown key 'skip'"),
])
def test_a_malformed_doctor_section_is_refused(cli, standins, write_recipe, doctor, extra, problem):
    path = write_recipe(recipe_text(extra=extra))
    code, _, err = cli("run", path, "--dry-run")
    assert code == 2
    assert f"{path}:{problem}" in err


def test_run_checks_the_command_line_ids_against_the_recipes_driver(cli, standins, write_recipe, doctor):
    asked = doctor(report(CGROUP))
    code, out, err = cli("run", write_recipe(recipe_text()), "--ignore-checks", "tool.minikube")
    assert (code, out) == (2, "")
    assert "error: --ignore-checks: the doctor has no check 'tool.minikube' for the kind driver" in err
    assert "did you mean tool.kind" not in err and asked == []


def test_the_doctor_report_is_ready_when_only_ignored_checks_fail():
    made = report(CGROUP, FUSE)
    assert (made.ready, [c.id for c in made.failing()]) == (False, ["cgroup.v2", "dev.fuse"])
    made.ignore = ("cgroup.v2",)
    assert (made.ready, [c.id for c in made.failing()], [c.id for c in made.ignored()]) == (
        False, ["dev.fuse"], ["cgroup.v2"])
    made.ignore = ("all",)
    assert made.ready is True
    assert [c["ignored"] for c in made.as_dict()["checks"]] == [False, True, True, False]  # a warning is never


def test_the_plan_says_which_failures_the_doctor_step_goes_past(cli, standins, write_recipe, doctor):
    path = write_recipe(recipe_text(extra="doctor:\n  ignore: [cgroup.v2, dev.fuse]"))
    code, out, _ = cli("run", path, "--dry-run", "--json")
    assert code == 0
    assert json.loads(out)["steps"][0]["does"] == ("run every host check for kind; stop if one fails (except "
                                                   "cgroup.v2, dev.fuse: doctor.ignore)")
