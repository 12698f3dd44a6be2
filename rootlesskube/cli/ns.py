"""`rootlesskube ns apply|show`: Pod Security namespaces on a cluster."""

from __future__ import annotations

from plumbum import cli

from . import Command, Group

_LEVEL_HELP = "privileged, baseline or restricted"
_VERSION_HELP = '"latest" (default) or v1.N, e.g. v1.35'


class _KubeCommand(Command):
    # not plumbum's envname: kubectl reads $KUBECONFIG itself, which may list several files
    kubeconfig = cli.SwitchAttr(["--kubeconfig"], str, argname="FILE",
                                help="the cluster's kubeconfig (default: $KUBECONFIG, else ~/.kube/config)")
    cluster = cli.SwitchAttr(["--cluster"], str, argname="NAME", excludes=["--kubeconfig"],
                             help="a cluster rootlesskube created (its kubeconfig and cluster-wide default)")
    json = cli.Flag(["--json"], help="print the result as JSON on stdout")

    def kube(self):
        """kubectl for the cluster in use, and its cluster-wide Pod Security configuration when rootlesskube
        created it (named with --cluster, or by its kubeconfig)."""
        import os

        from .. import inputs
        from ..kube import Kubectl
        from ..names import dns1123_label
        from ..pss.namespaces import cluster_defaults
        from ..workloads.target import record_in_use

        if self.cluster is not None:
            dns1123_label(self.cluster, "cluster name")
        if self.kubeconfig is not None:
            inputs.read_bytes(self.kubeconfig, "kubeconfig")  # a regular, readable file of bounded size

        record = record_in_use(self.cluster, self.kubeconfig or os.environ.get("KUBECONFIG"))
        kubeconfig = record.kubeconfig if self.cluster else self.kubeconfig or None
        return Kubectl(kubeconfig=kubeconfig), cluster_defaults(record.driver, record.spec) if record else None


class Ns(Group):
    DESCRIPTION = "Namespaces with Pod Security labels: create or update them, show the levels in force."


class NsApply(_KubeCommand):
    DESCRIPTION = (
        "Create or update namespace NAME with the pod-security.kubernetes.io labels: "
        "enforce rejects violating Pods, warn makes kubectl print a warning, audit records "
        "it in the audit log. A mode you do not give keeps no label (warn then follows a "
        "stricter enforce; audit uses the cluster default). Every mode gets an explicit "
        "version label. --dry-run changes nothing: it evaluates the pods already running "
        "in NAME against the new enforce level and lists those that would be rejected; as the "
        "admission controller, it evaluates none when enforce is unchanged, privileged or only "
        "loosened at the same version, or the namespace is exempt by the cluster's default."
    )

    enforce = cli.SwitchAttr(["--enforce"], str, argname="LEVEL", mandatory=True, help=f"enforce level: {_LEVEL_HELP}")
    enforce_version = cli.SwitchAttr(["--enforce-version"], str, argname="V", help=_VERSION_HELP)
    warn = cli.SwitchAttr(["--warn"], str, argname="LEVEL", help=f"warn level: {_LEVEL_HELP}")
    warn_version = cli.SwitchAttr(["--warn-version"], str, argname="V", requires=["--warn"], help=_VERSION_HELP)
    audit = cli.SwitchAttr(["--audit"], str, argname="LEVEL", help=f"audit level: {_LEVEL_HELP}")
    audit_version = cli.SwitchAttr(["--audit-version"], str, argname="V", requires=["--audit"],
                                   help=_VERSION_HELP)
    dry_run = cli.Flag(["--dry-run"], help="change nothing; report the running pods the new enforce level rejects")

    def main(self, name: str):
        from .. import ui
        from ..names import dns1123_label
        from ..pss.labels import ModePolicy, PssLabels
        from ..pss.namespaces import apply_namespace

        dns1123_label(name, "namespace")
        labels = PssLabels(
            enforce=ModePolicy.validated(self.enforce, self.enforce_version),
            warn=ModePolicy.validated(self.warn, self.warn_version) if self.warn else None,
            audit=ModePolicy.validated(self.audit, self.audit_version) if self.audit else None,
        )
        kubectl, cluster = self.kube()
        result = apply_namespace(kubectl, name, labels, dry_run=self.dry_run, cluster=cluster)
        if self.json:
            ui.emit_json(result.as_dict())
            return 0
        print(f"namespace/{name} {result.operation}" + (" (dry run)" if self.dry_run else ""))
        for key, value in labels.to_labels().items():
            print(f"  {key}={value}")
        if self.dry_run:
            for line in result.warnings:
                print(f"Warning: {line}")
            if result.not_evaluated:
                print(f"existing pods not evaluated: {result.not_evaluated}")
            elif not result.warnings:
                print(f"all {result.pods_checked} existing pods in namespace {name!r} "
                      f"are allowed at {labels.enforce}")
        return 0


class NsShow(_KubeCommand):
    DESCRIPTION = (
        "Show the Pod Security levels in force per namespace (or only NAME): the labeled "
        "level:version of each mode, or 'unlabeled' with the default the admission "
        "controller then uses: the cluster default of a cluster rootlesskube created "
        "with one (named with --cluster or by its kubeconfig), else privileged:latest; "
        "'exempt' for a namespace the cluster default exempts."
    )

    def main(self, name: str = None):
        from .. import ui
        from ..pss.namespaces import show_namespaces

        kubectl, cluster = self.kube()
        rows = show_namespaces(kubectl, name, cluster)
        if self.json:
            ui.emit_json([row.as_dict() for row in rows])
            return 0
        table = [("NAMESPACE", "ENFORCE", "AUDIT", "WARN")]
        for row in rows:
            table.append((row.name, *(_cell(row, mode) for mode in ("enforce", "audit", "warn"))))
        widths = [max(len(r[i]) for r in table) for i in range(4)]
        for r in table:
            print("  ".join(cell.ljust(width) for cell, width in zip(r, widths)).rstrip())
        return 0


def _cell(row, mode: str) -> str:
    if row.exempt:
        return "exempt (cluster default)"
    effective, source = row.effective[mode], row.source[mode]
    if source == "label":
        return str(effective)
    if source == "follows enforce":
        return f"{effective} (follows enforce)"
    if source == "cluster default":
        return f"unlabeled (cluster default {effective})"
    return f"unlabeled ({effective})"


Ns.subcommand("apply", NsApply)
Ns.subcommand("show", NsShow)
