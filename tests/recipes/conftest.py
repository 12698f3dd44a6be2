"""Fixtures for recipe tests: the drivers' stand-ins and passing doctor, and recipe files written per test."""

from __future__ import annotations

import textwrap

import pytest

from tests.drivers.conftest import Standins, standins  # noqa: F401  (the stand-ins on PATH, a passing doctor)

RESTRICTED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: web
      image: localhost/web:1
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
"""

PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: debug
      image: localhost/debug:1
      securityContext: {privileged: true}
"""


def recipe_text(name="smoke", cluster="rk-smoke", cleanup="always", workloads="", checks="", extra=""):
    extra = textwrap.indent(extra, " " * 8).lstrip()  # survives the dedent below
    return textwrap.dedent(f"""\
        apiVersion: rootlesskube.dev/v1alpha1
        kind: Recipe
        metadata:
          name: {name}
        cluster:
          driver: kind
          name: {cluster}
        {extra}
        namespaces:
          - name: demo
            podSecurity: {{enforce: restricted, warn: restricted}}
        workloads:
          - type: manifests
            namespace: demo
            files: [web.yaml]
        {workloads}
        checks:
          - type: doctor
          - type: pss-check
            files: [web.yaml]
            level: restricted
        {checks}
        timeouts: {{ready: 120}}
        cleanup: {cleanup}
        """)


@pytest.fixture
def recipe_dir(tmp_path):
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "web.yaml").write_text(RESTRICTED_POD)
    (folder / "debug.yaml").write_text(PRIVILEGED_POD)
    return folder


@pytest.fixture
def write_recipe(recipe_dir):
    def write(text: str, filename: str = "smoke.yaml"):
        path = recipe_dir / filename
        path.write_text(text)
        return path

    return write
