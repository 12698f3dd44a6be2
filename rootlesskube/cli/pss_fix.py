"""`rootlesskube pss fix`: make a manifest pass a Pod Security level with minimal changes."""

from __future__ import annotations

from plumbum import cli

from . import Command


class PssFix(Command):
    DESCRIPTION = (
        "Write the manifest with the smallest changes that make its Pods and workloads pass a "
        "Pod Security level: allowPrivilegeEscalation=false and capabilities.drop=[ALL] per "
        "container, runAsNonRoot=true and seccompProfile RuntimeDefault per pod (only where "
        "not already set; an Unconfined seccomp or AppArmor profile becomes RuntimeDefault, "
        "procMount Unmasked becomes Default). The result is re-checked with the evaluator; what "
        "still violates the level cannot be fixed safely without knowing the workload "
        "(privileged, host namespaces, hostPath volumes, host ports, added capabilities, uid 0) "
        "and is listed with the reason. Exit 0 when the result passes with nothing left, 1 when "
        "something is left to fix by hand, 2 for unreadable input."
    )
    DESCRIPTION_MORE = (
        "Documents without a change are written byte for byte. A changed document is re-written "
        "with its comments, quoting and key order kept and the new keys last; only its list "
        "indentation is made one style (use --diff to review). The items "
        "of a List are fixed one by one. At restricted, a container without runAsUser is listed "
        "too: admission allows it, but runAsNonRoot=true needs a numeric non-zero image user, "
        "which the fixer cannot see."
    )

    file = cli.SwitchAttr(["-f", "--filename"], str, argname="PATH", mandatory=True,
                          help="the YAML manifest to fix (multi-document allowed), or - for stdin")
    level = cli.SwitchAttr(["--level"], str, argname="LEVEL", default="restricted",
                           help="the level to pass: baseline or restricted")
    policy_version = cli.SwitchAttr(["--version"], str, argname="V", default="latest",
                                    help='the policy version to re-check against: "latest" or v1.N')
    output = cli.SwitchAttr(["-o", "--output"], str, argname="OUT",
                            help="write the fixed manifest to OUT (default: stdout)")
    diff = cli.Flag(["--diff"], excludes=["--output"],
                    help="print a unified diff of the changes instead of the manifest")
    json = cli.Flag(["--json"], excludes=["--diff"],
                    help="print the changes and what is left as JSON on stdout (with -o OUT for the manifest)")

    def main(self):
        import sys

        from .. import inputs, ui
        from ..errors import RootlesskubeError, UsageError
        from ..pss.fixer import fix_file
        from ..pss.levels import BASELINE, RESTRICTED, validate_level, validate_version

        if validate_level(self.level) not in (BASELINE, RESTRICTED):
            raise UsageError(f"pss fix --level {self.level}: there is nothing to fix at that level",
                             hint="use --level baseline or --level restricted")
        validate_version(self.policy_version)
        if self.output is not None:
            inputs.check_output(self.output, "output file (-o)")
        result = fix_file(self.file, self.level, self.policy_version)
        if self.output:
            try:
                with open(self.output, "w", encoding="utf-8") as handle:
                    handle.write(result.fixed)
            except OSError as exc:
                raise RootlesskubeError(f"cannot write {self.output}: {exc.strerror}",
                                        hint="check the disk and the path") from None
        if self.json:
            ui.emit_json({"file": self.file, **result.as_dict()})
        elif self.diff:
            sys.stdout.write(result.diff(self.file))
        elif not self.output:
            sys.stdout.write(result.fixed)
        if not self.json:
            _report(result, ui)
        return 0 if result.complete else 1


def _report(result, ui) -> None:
    """What changed and what is left, on stderr (stdout holds the manifest or the diff)."""
    for change in result.changes:
        ui.say(f"fixed: {change}")
    for note in result.notes:
        ui.say(f"note: {note}")
    for item in result.unfixable:
        ui.say(f"cannot fix: {item.kind}/{item.name}: {item.violation}: {item.why}")
    policy = f"{result.level}:{result.version}"
    if not result.allowed:
        ui.say(f"result still violates {policy}")
    elif not result.complete:
        ui.say(f"result passes {policy} at admission; what is listed above is left to check by hand")
    else:
        ui.say(f"result passes {policy}")
