"""The package layout holds what README.md and docs/ARCHITECTURE.md say.

- The privilege boundary runs one way: importing every module of rootlesskube loads
  nothing of host_setup (host_setup imports rootlesskube, never the reverse).
- drivers/base.py knows no concrete driver: each driver owns its rules.
- The shipped recipes live in the top-level recipes/ folder, and a wheel carries them:
  installed from the built wheel into a fresh venv, `recipes list` and
  `run kind-pmm3-restricted --dry-run` work as they do from the checkout.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "rootlesskube"


def test_importing_every_rootlesskube_module_loads_nothing_of_host_setup():
    code = (
        "import importlib, pkgutil, sys, rootlesskube\n"
        "names = [m.name for m in pkgutil.walk_packages(rootlesskube.__path__, 'rootlesskube.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(len(names)); print(sorted(m for m in sys.modules if m.split('.')[0] == 'host_setup'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    count, loaded = done.stdout.splitlines()
    assert int(count) > 80  # every module was imported, not an empty walk
    assert loaded == "[]"


def test_no_rootlesskube_source_names_host_setup_in_an_import():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] == "host_setup"]
    assert offenders == []


def test_the_driver_base_imports_no_concrete_driver():
    concrete = {"kind", "minikube", "usernetes"}
    imported = set()
    for node in ast.walk(ast.parse((PACKAGE / "drivers" / "base.py").read_text())):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
            imported.update(a.name for a in node.names)
    assert imported & concrete == set()
    assert not any(m.split(".")[-1] in concrete for m in imported)


def test_shipped_recipes_live_in_the_top_level_recipes_folder():
    from rootlesskube.recipe import load

    assert load.RECIPES_DIR == REPO / "recipes"
    assert sorted(load.shipped()) == sorted(p.stem for p in (REPO / "recipes").glob("*.yaml"))
    assert "kind-pmm3-restricted" in load.shipped()
    assert not (PACKAGE / "recipes").exists()


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    """This checkout built into a wheel and installed into a fresh venv (dependencies from PyPI)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for name in ("rootlesskube", "host_setup", "recipes"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    dist = base / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    wheel = next(dist.glob("rootlesskube-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                              str(wheel)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    return venv, wheel


def _run_installed(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run([str(venv / "bin" / "rootlesskube"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_wheel_carries_the_recipes_and_the_schema(wheel_venv):
    import zipfile

    _, wheel = wheel_venv
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"rootlesskube/recipe/shipped/{p.name}" for p in (REPO / "recipes").iterdir() if p.is_file()}
    assert shipped <= names
    assert "rootlesskube/recipe/shipped/recipe_schema.json" in names


def test_recipes_list_and_a_dry_run_from_the_wheel_match_the_checkout(wheel_venv, tmp_path, cli):
    venv, _ = wheel_venv
    listed = _run_installed(venv, "recipes", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    code, from_checkout, _ = cli("recipes", "list")
    assert code == 0
    assert listed.stdout == from_checkout

    planned = _run_installed(venv, "run", "kind-pmm3-restricted", "--dry-run", cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    code, from_checkout, _ = cli("run", "kind-pmm3-restricted", "--dry-run")
    assert code == 0
    installed = next(venv.glob("lib/python*/site-packages/rootlesskube/recipe/shipped"))
    assert f"({installed}/kind-pmm3-restricted.yaml)" in planned.stdout  # the wheel's own copy
    assert planned.stdout.replace(str(installed), "RECIPES") == from_checkout.replace(str(REPO / "recipes"), "RECIPES")
