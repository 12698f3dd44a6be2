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
    json = cli.Flag(["--json"], help="print the result as JSON on stdout")

    def kubectl(self):
        from ..kube import Kubectl

        return Kubectl(kubeconfig=self.kubeconfig or None)


class Ns(Group):
    DESCRIPTION = "Namespaces with Pod Security labels: create or update them, show the levels in force."


class NsApply(_KubeCommand):
    DESCRIPTION = (
        "Create or update namespace NAME with the pod-security.kubernetes.io labels: "
        "enforce rejects violating Pods, warn makes kubectl print a warning, audit records "
        "it in the audit log. A mode you do not give keeps no label (warn then follows a "
        "stricter enforce; audit uses the cluster default). Every mode gets an explicit "
        "version label. --dry-run changes nothing: it evaluates the pods already running "
        "in NAME against the new enforce level and lists those that would be rejected."
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
        result = apply_namespace(self.kubectl(), name, labels, dry_run=self.dry_run)
        if self.json:
            ui.emit_json(result.as_dict())
            return 0
        print(f"namespace/{name} {result.operation}" + (" (dry run)" if self.dry_run else ""))
        for key, value in labels.to_labels().items():
            print(f"  {key}={value}")
        if self.dry_run and labels.enforce.level != "privileged":
            if result.warnings:
                for line in result.warnings:
                    print(f"Warning: {line}")
            else:
                print(f"all {result.pods_checked} existing pods in namespace {name!r} "
                      f"are allowed at {labels.enforce}")
        return 0


class NsShow(_KubeCommand):
    DESCRIPTION = (
        "Show the Pod Security levels in force per namespace (or only NAME): the labeled "
        "level:version of each mode, or 'unlabeled' with the built-in default the "
        "admission controller then uses (privileged:latest, unless the cluster was "
        "created with another default)."
    )

    def main(self, name: str = None):
        from .. import ui
        from ..pss.namespaces import show_namespaces

        rows = show_namespaces(self.kubectl(), name)
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
    labeled = getattr(row.labels, mode)
    effective = row.effective[mode]
    if labeled is not None:
        return str(labeled)
    if mode == "warn" and row.labels.enforce is not None and effective == row.labels.enforce:
        return f"{effective} (follows enforce)"
    return f"unlabeled ({effective})"


Ns.subcommand("apply", NsApply)
Ns.subcommand("show", NsShow)
