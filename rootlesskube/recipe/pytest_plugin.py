"""pytest plugin (entry point pytest11): a session fixture `rootless_cluster` brought up from a recipe.

    def test_pods(rootless_cluster):
        kubectl = ["kubectl", "--kubeconfig", rootless_cluster.kubeconfig, "get", "pods", "-A"]

Options: --rootlesskube-recipe NAME|FILE (default: kind-pmm3-restricted),
--rootlesskube-keep (keep the cluster whatever the recipe's cleanup policy).
The cluster is torn down per the recipe's policy when the session ends. This
module is loaded into every pytest run: it only registers two options, and
imports rootlesskube when the fixture is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class RootlessCluster:
    name: str
    kubeconfig: str
    driver: str
    recipe: str


def pytest_addoption(parser) -> None:
    group = parser.getgroup("rootlesskube", "a rootless Kubernetes cluster from a rootlesskube recipe")
    group.addoption("--rootlesskube-recipe", default=None, metavar="NAME|FILE",
                    help="the recipe the rootless_cluster fixture runs (default: kind-pmm3-restricted)")
    group.addoption("--rootlesskube-keep", action="store_true", default=False,
                    help="keep the cluster after the session, whatever the recipe's cleanup policy")


@pytest.fixture(scope="session")
def rootless_cluster(request):
    """Run the recipe's steps once per session; yield the first cluster's name and kubeconfig."""
    from rootlesskube.errors import RootlesskubeError
    from rootlesskube.recipe import load as recipe
    from rootlesskube.recipe import steps as recipe_steps

    name = request.config.getoption("--rootlesskube-recipe") or recipe.DEFAULT_RECIPE
    try:
        loaded = recipe.load(name)
        clusters = loaded.clusters()
    except RootlesskubeError as exc:
        pytest.fail(f"rootlesskube recipe {name}: {exc}" + (f"\nhint: {exc.hint}" if exc.hint else ""),
                    pytrace=False)
    options = recipe_steps.RunOptions(keep=request.config.getoption("--rootlesskube-keep"))
    runner = recipe_steps.Runner(loaded, recipe_steps.plan(loaded, clusters), options)
    try:
        runner.run_steps()
        if not runner.result.ok:
            failed = next(r for r in runner.result.records if r.status == "failed")
            pytest.fail(f"rootlesskube recipe {loaded.name} failed at {failed.name!r}: {failed.message}",
                        pytrace=False)
        spec = clusters[0]
        yield RootlessCluster(spec.name, runner.result.kubeconfig(spec.name), spec.driver, loaded.name)
    finally:
        runner.finish()
