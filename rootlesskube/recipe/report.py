"""The report of one recipe run, from its step records: terminal table, JSON, JUnit XML, GitHub step summary.

JUnit: one <testsuite> per run (named after the recipe), one <testcase> per
step with its time; a failed step has <failure message=... type=...> with
the full text, a skipped one <skipped/>; the artifacts a step left are listed
in its <system-out> (one `[[ATTACHMENT|path]]` line each, which Jenkins and
GitLab pick up).
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import List

from .. import ui
from ..errors import EXIT_CODES_HELP
from .steps import RunResult

_EXIT_NAMES = {int(line.split()[0]): line.split(None, 1)[1]
               for line in EXIT_CODES_HELP.splitlines()[1:]}


def verdict(result: RunResult) -> str:
    failed = [r for r in result.records if r.status == "failed"]
    if result.ok:
        return f"recipe {result.recipe.name}: passed ({len(result.records)} steps)"
    first = failed[0].name if failed else "cleanup"
    return f"recipe {result.recipe.name}: FAILED at {first!r} (exit {result.exit_code}: " \
           f"{_EXIT_NAMES.get(result.exit_code, 'failure')})"


def as_dict(result: RunResult) -> dict:
    return {
        "recipe": result.recipe.name,
        "source": result.recipe.source,
        "ok": result.ok,
        "exit_code": result.exit_code,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(result.started)),
        "duration": round(sum(r.duration for r in result.records), 3),
        "artifacts_dir": str(result.artifacts_dir) if result.artifacts_dir else None,
        "kept_clusters": [{"name": n, "kubeconfig": result.kubeconfig(n), "delete_command": result.delete_command(n)}
                          for n in result.kept],
        "ignored_checks": list(result.ignored_checks),
        "steps": [r.as_dict() for r in result.records],
    }


def print_summary(result: RunResult) -> None:
    """The step table and the verdict, on stdout."""
    from rich.table import Table

    table = Table(title=f"recipe {result.recipe.name}")
    for column in ("step", "result", "time", "message"):
        table.add_column(column, overflow="fold")
    for r in result.records:
        table.add_row(r.name, r.status, f"{r.duration:.1f}s", r.message)
    out = ui.console(stderr=False)
    out.print(table, markup=False)
    if result.artifacts_dir:
        out.print(f"artifacts: {result.artifacts_dir}", markup=False)
    for name in result.kept:
        out.print(_kept_line(result, name), markup=False)
    if result.ignored_checks:
        out.print(_ignored_line(result), markup=False)
    out.print(verdict(result), markup=False)


def _ignored_line(result: RunResult) -> str:
    from ..host.ignore import summary

    return "ignored: " + summary(result.ignored_checks, result.ignore_source)


def _kept_line(result: RunResult, name: str) -> str:
    return f"kept: {name} (export KUBECONFIG={result.kubeconfig(name)}; delete it with: {result.delete_command(name)})"


def junit_tree(result: RunResult) -> ET.ElementTree:
    records = result.records
    suites = ET.Element("testsuites", name="rootlesskube")
    suite = ET.SubElement(suites, "testsuite", {
        "name": result.recipe.name,
        "tests": str(len(records)),
        "failures": str(sum(r.status == "failed" for r in records)),
        "errors": "0",
        "skipped": str(sum(r.status == "skipped" for r in records)),
        "time": f"{sum(r.duration for r in records):.3f}",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(result.started)),
    })
    for r in records:
        case = ET.SubElement(suite, "testcase", {"classname": f"rootlesskube.{result.recipe.name}", "name": r.name,
                                                 "time": f"{r.duration:.3f}"})
        if r.status == "failed":
            failure = ET.SubElement(case, "failure", {"message": r.message, "type": f"exit {result.exit_code}"})
            failure.text = r.detail or r.message
        elif r.status == "skipped":
            ET.SubElement(case, "skipped", {"message": r.message})
        if r.artifacts:
            ET.SubElement(case, "system-out").text = "\n".join(f"[[ATTACHMENT|{a}]]" for a in r.artifacts)
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(result: RunResult, path: Path) -> Path:
    tree = junit_tree(result)
    text = ET.tostring(tree.getroot(), encoding="unicode")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
    return path


def markdown(result: RunResult) -> str:
    """The GitHub Actions step summary."""
    icon = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}
    lines: List[str] = [f"### rootlesskube recipe `{result.recipe.name}`", "", verdict(result), "",
                        "| step | result | time | message |", "| --- | --- | --- | --- |"]
    for r in result.records:
        message = r.message.replace("|", "\\|")
        lines.append(f"| {r.name} | {icon.get(r.status, '')} {r.status} | {r.duration:.1f}s | {message} |")
    if result.artifacts_dir:
        lines += ["", f"Artifacts: `{result.artifacts_dir}`"]
    if result.kept:
        lines += [""] + [f"- {_kept_line(result, name)}" for name in result.kept]
    if result.ignored_checks:
        lines += ["", _ignored_line(result)]
    return "\n".join(lines) + "\n"


def write_github_summary(result: RunResult) -> None:
    """Append to $GITHUB_STEP_SUMMARY when GitHub Actions set it."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as summary:
            summary.write(markdown(result))


__all__ = ["verdict", "as_dict", "print_summary", "junit_tree", "write_junit", "markdown", "write_github_summary"]
