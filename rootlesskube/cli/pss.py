"""`rootlesskube pss`: Pod Security Standards, checked offline."""

from __future__ import annotations

from plumbum import cli

from . import Command, Group


class Pss(Group):
    DESCRIPTION = (
        "Pod Security Standards: predict, before deploying, what the PodSecurity admission "
        "controller will say about a manifest"
    )


class PssCheck(Command):
    DESCRIPTION = (
        "Evaluate Pods and workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, "
        "ReplicationController, Job, CronJob, PodTemplate) at a Pod Security level and version, "
        "offline, with the admission controller's verdict and exact words. Prints one line per "
        "object: `ok` or the `violates PodSecurity ...` message. Exit 0 when every object is "
        "allowed, 1 when any is not, 2 for unreadable input."
    )
    DESCRIPTION_MORE = (
        "Objects of other kinds (Service, ...) are skipped. Only Pods are ever denied by the cluster; "
        "for a workload the same text comes back as a `would violate PodSecurity` warning, and its pods "
        "are then rejected. API validation is not run."
    )

    files = cli.SwitchAttr(
        ["-f", "--filename"], str, list=True, argname="PATH",
        help="a YAML or JSON manifest (multi-document and Lists allowed), a directory of them, "
             "or - for stdin",
    )
    level = cli.SwitchAttr(
        ["--level"], str, argname="LEVEL", default=None,
        help="privileged, baseline or restricted (default: restricted)",
    )
    policy_version = cli.SwitchAttr(
        ["--version"], str, argname="V", default=None,
        help='the policy version: "latest" or "v1.N" (default: latest); newer than the newest '
             "policy version evaluates as the newest, the text is kept in messages",
    )
    namespace_file = cli.SwitchAttr(
        ["--namespace-labels-from"], str, argname="NS.yaml", default=None,
        excludes=["--level", "--version"],
        help="take level and version from the pod-security.kubernetes.io/enforce labels "
             "of the Namespace in this manifest",
    )
    json = cli.Flag(["--json"], help="one JSON list of records on stdout instead of lines")

    def main(self, *args):
        from ..errors import UsageError

        if args:
            raise UsageError(f"unexpected argument {args[0]!r}", hint="give manifests with -f PATH")
        if not self.files:
            raise UsageError("no manifest given", hint="use -f PATH (or -f - for stdin)")
        from ..pss import check

        if self.namespace_file:
            level, version = check.enforce_policy_from(self.namespace_file)
        else:
            # None is "not given"; an empty value is refused by check_files, not taken as the default
            level = "restricted" if self.level is None else self.level
            version = "latest" if self.policy_version is None else self.policy_version
        records = check.check_files(self.files, level, version)
        if self.json:
            from .. import ui

            ui.emit_json(records)
        else:
            for line in check.lines(records):
                print(line)
        return 0 if all(r["allowed"] for r in records) else 1


Pss.subcommand("check", "rootlesskube.cli.pss.PssCheck")
Pss.subcommand("fix", "rootlesskube.cli.pss_fix.PssFix")
