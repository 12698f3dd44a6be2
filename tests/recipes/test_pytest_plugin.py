"""The pytest11 plugin, in a separate pytest process (as a user's project loads it) against the stand-ins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO
from tests.recipes.conftest import RESTRICTED_POD, recipe_text

INJECT_DOCTOR = """\
from rootlesskube import cluster
from tests.drivers.passing_doctor import passing

cluster.DOCTOR = passing  # this machine is not ready for kind (hybrid cgroups)
"""

USES_FIXTURE = """\
import os

def test_one(rootless_cluster):
    assert (rootless_cluster.name, rootless_cluster.driver, rootless_cluster.recipe) == ("rk-smoke", "kind", "smoke")
    assert os.path.isfile(rootless_cluster.kubeconfig)

def test_two(rootless_cluster):
    assert rootless_cluster.kubeconfig.endswith("/clusters/rk-smoke/kubeconfig")
"""


def run_pytest(folder, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=120)


def project(tmp_path, recipe, tests, conftest=INJECT_DOCTOR):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "conftest.py").write_text(conftest)
    (folder / "test_cluster.py").write_text(tests)
    (folder / "smoke.yaml").write_text(recipe)
    (folder / "web.yaml").write_text(RESTRICTED_POD)
    return folder


def kind_verbs(standins):
    return [argv[1:3] for argv in standins.argvs("kind")]


def test_the_fixture_brings_a_cluster_up_once_and_tears_it_down_per_policy(standins, tmp_path):
    folder = project(tmp_path, recipe_text(cleanup="always"), USES_FIXTURE)
    result = run_pytest(folder, "--rootlesskube-recipe", "smoke.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert kind_verbs(standins).count(["create", "cluster"]) == 1  # session scope: once for both tests
    assert kind_verbs(standins).count(["delete", "cluster"]) == 1
    assert standins.tool_state("kind")["clusters"] == {}


def test_keep_leaves_the_cluster(standins, tmp_path):
    folder = project(tmp_path, recipe_text(cleanup="always"), USES_FIXTURE)
    result = run_pytest(folder, "--rootlesskube-recipe", "smoke.yaml", "--rootlesskube-keep")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ["delete", "cluster"] not in kind_verbs(standins)
    assert list(standins.tool_state("kind")["clusters"]) == ["rk-smoke"]


def test_a_bad_recipe_fails_the_tests_that_use_the_fixture_with_its_message(standins, tmp_path):
    folder = project(tmp_path, recipe_text().replace("cleanup: always", "cleanup: sometimes"), USES_FIXTURE)
    result = run_pytest(folder, "--rootlesskube-recipe", "smoke.yaml")
    assert result.returncode == 1
    assert "rootlesskube recipe smoke.yaml: smoke.yaml:24:10: found 'sometimes'; expected one of: always, " \
           "on-success, never" in result.stdout
    assert standins.calls() == []


def test_the_plugin_costs_nothing_when_the_fixture_is_not_used(standins, tmp_path):
    tests = textwrap.dedent("""\
        import sys

        def test_plain():
            loaded = sorted(m for m in sys.modules if m == "rootlesskube" or m.startswith("rootlesskube."))
            assert loaded == ["rootlesskube", "rootlesskube.recipe", "rootlesskube.recipe.pytest_plugin"]  # no recipe, cluster or rich
        """)
    folder = project(tmp_path, recipe_text(), tests, conftest="")
    result = run_pytest(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert standins.calls() == []
