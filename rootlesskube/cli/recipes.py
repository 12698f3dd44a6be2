"""`run [RECIPE]` and `recipes list|show`: unattended runs from a YAML recipe."""

from __future__ import annotations

from plumbum import cli

from . import Command, Group


class Run(Command):
    DESCRIPTION = (
        "Run a recipe: validate it (every error names file:line:col; nothing runs when it is invalid), then run "
        "its steps in order: doctor, bring up the cluster, label the namespaces, deploy the workloads, run the "
        "checks. On a failure the evidence (driver logs, events, describe and logs of failed pods) goes to the "
        "artifacts folder the report names; the clusters are then cleaned up per the recipe's policy (always, "
        "on-success, never), also on SIGTERM. RECIPE is a shipped recipe's name (`rootlesskube recipes list`) or "
        "a path to a .yaml file; without it, the main job: kind-pmm3-restricted (a kind cluster, a restricted "
        "namespace, PMM 3, the rootless proof and pmm verify). The report (a table, or --json) goes to stdout; "
        "--junit writes JUnit XML."
    )

    json = cli.Flag(["--json"], help="print the report as JSON on stdout")
    junit = cli.SwitchAttr(["--junit"], str, argname="FILE", help="write a JUnit XML report (one testcase per step)")
    artifacts = cli.SwitchAttr(["--artifacts"], str, argname="DIR",
                               help="where evidence of a failure goes (default: a new folder in the state directory)")
    keep = cli.Flag(["--keep"], help="keep every cluster this run brings up, whatever the recipe's cleanup policy")
    dry_run = cli.Flag(["--dry-run"], help="validate and print the plan (each step and what it will do); touch nothing")
    ignore_checks = cli.SwitchAttr(["--ignore-checks"], str, argname="ID[,ID...]|all",
                                   help="go past these failing doctor checks, with the recipe's doctor.ignore; they "
                                        "stay in the report, marked ignored")

    def main(self, recipe: str = None):
        from pathlib import Path

        from .. import inputs, ui
        from ..host import ignore
        from ..recipe import load as recipes
        from ..recipe import report
        from ..recipe import steps as recipe_steps

        if self.junit is not None:
            inputs.check_output(self.junit, "JUnit report (--junit)", make_parents=True)
        if self.artifacts is not None:
            inputs.check_output_dir(self.artifacts, "artifacts folder (--artifacts)")
        loaded = recipes.load(recipes.DEFAULT_RECIPE if recipe is None else recipe)
        ignored = ignore.validate(ignore.parse(self.ignore_checks), loaded.cluster.driver) if self.ignore_checks else ()
        steps = recipe_steps.plan(loaded, loaded.clusters())
        if self.dry_run:
            return _print_plan(loaded, steps, self.json)
        ui.say(announce(loaded, steps))
        options = recipe_steps.RunOptions(artifacts=Path(self.artifacts) if self.artifacts else None, keep=self.keep,
                                          ignore_checks=ignored)
        result = recipe_steps.execute(loaded, steps, options)
        if self.junit:
            report.write_junit(result, Path(self.junit))
            ui.say(f"JUnit report written to {self.junit}")
        report.write_github_summary(result)
        if self.json:
            ui.emit_json(report.as_dict(result))
        else:
            report.print_summary(result)
        return result.exit_code


_IMAGES = {"pmm3": "PMM 3's server image", "pmm2": "PMM 2's server image"}


def announce(loaded, steps) -> str:
    """What a run will do and roughly how long, said before its first step (the doctor) and any pull."""
    driver = loaded.cluster.driver
    images = [f"the {driver} node image"]
    for workload in loaded.workloads:
        name = _IMAGES.get(workload.type)
        if name and not workload.image_archive and name not in images:
            images.append(name)
    plan = "; ".join(step.title for step in steps)
    return (f"rootlesskube run {loaded.name}: {len(steps)} steps: {plan} (--dry-run says what each does).\n"
            f"The doctor takes a few seconds; then pulling starts: {' and '.join(images)}, hundreds of MB or "
            "more each on a first run. Expect roughly 5 to 15 minutes in all the first time, mostly downloads; "
            "a few minutes once the images are cached.")


def _print_plan(loaded, steps, as_json: bool) -> int:
    from .. import ui

    if as_json:
        ui.emit_json({"recipe": loaded.name, "source": loaded.source, "cleanup": loaded.cleanup,
                      "steps": [s.as_dict() for s in steps]})
        return 0
    print(f"recipe {loaded.name} ({loaded.source}): {len(steps)} steps, cleanup: {loaded.cleanup}")
    for number, step in enumerate(steps, 1):
        print(f"{number:3}. {step.title}\n     {step.does}")
    return 0


class Recipes(Group):
    DESCRIPTION = "The recipes shipped with rootlesskube: list them, show one."


class RecipesList(Command):
    DESCRIPTION = "List the shipped recipes with their descriptions (`rootlesskube run NAME` runs one)."

    json = cli.Flag(["--json"], help="print the list as JSON on stdout")

    def main(self):
        from .. import ui
        from ..recipe import load as recipes

        rows = [{"name": name, "description": recipes.load(name).description, "path": str(path)}
                for name, path in recipes.shipped().items()]
        if self.json:
            ui.emit_json(rows)
            return 0
        width = max(len(r["name"]) for r in rows)
        for row in rows:
            default = " (default)" if row["name"] == recipes.DEFAULT_RECIPE else ""
            print(f"{row['name']:<{width}}  {row['description']}{default}")
        return 0


class RecipesShow(Command):
    DESCRIPTION = "Print a recipe's YAML (a shipped recipe's name, or a path), to read or to copy and edit."

    def main(self, name: str):
        from .. import inputs
        from ..recipe import load as recipes

        path = str(recipes.find(name))
        text = inputs.read_text(path, "recipe")  # read once: what is validated is what is shown
        recipes.parse(text, path)  # a recipe that does not validate is reported, not shown as if it were fine
        print(text, end="")
        return 0


Recipes.subcommand("list", RecipesList)
Recipes.subcommand("show", RecipesShow)
