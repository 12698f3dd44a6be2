"""`rootlesskube pmm deploy|verify|password|remove`: PMM 3 as the rootless proof workload."""

from __future__ import annotations

import re

from plumbum import cli

from . import Command, Group

_DURATION = re.compile(r"([0-9]{1,6})([smh]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}
MAX_WAIT = 24 * 3600.0
"""The longest --wait (a day): a PMM pod that is not Ready by then will not become so."""


class Duration:
    """`90`, `90s`, `10m`, `1h` as seconds, 1 s to a day (plumbum turns the ValueError into a usage error)."""

    def __call__(self, text: str) -> float:
        match = _DURATION.fullmatch(text)
        if not match:
            raise ValueError(f"{text[:40]!r} is not a duration; use e.g. 90s, 10m or 1h")
        seconds = float(int(match.group(1)) * _UNITS[match.group(2)])
        if not 1 <= seconds <= MAX_WAIT:
            raise ValueError(f"{text!r} is not between 1s and 24h")
        return seconds

    def __repr__(self) -> str:
        return "a duration such as 90s, 10m or 1h"


DEFAULT_WAIT = 600.0


class _PmmCommand(Command):
    namespace = cli.SwitchAttr(["--namespace", "-n"], str, argname="NS", default=None,
                               help="the namespace PMM runs in (DNS-1123 label; default: pmm, "
                                    "pmm2-control for the PMM 2 control)")
    cluster = cli.SwitchAttr(["--cluster"], str, argname="NAME", excludes=["--kubeconfig"],
                             help="a cluster rootlesskube created (default: rootlesskube)")
    kubeconfig = cli.SwitchAttr(["--kubeconfig"], str, argname="FILE",
                                help="any cluster's kubeconfig (no image loading, no host-side proof)")

    @property
    def ns(self) -> str:
        return self.namespace or self.default_namespace()

    def default_namespace(self) -> str:
        from ..workloads.pmm import DEFAULT_NAMESPACE

        return DEFAULT_NAMESPACE

    def check_inputs(self) -> None:
        """Every switch, before the cluster is asked anything (empty values are refused by Command)."""
        from .. import inputs
        from ..names import dns1123_label

        dns1123_label(self.ns, "namespace")
        if self.cluster is not None:
            dns1123_label(self.cluster, "cluster name")
        if self.kubeconfig is not None:
            inputs.read_bytes(self.kubeconfig, "kubeconfig")  # a regular, readable file of bounded size

    def target(self):
        from ..workloads.target import resolve

        self.check_inputs()
        return resolve(self.cluster, self.kubeconfig)


class Pmm(Group):
    DESCRIPTION = (
        "Percona Monitoring and Management: PMM 3 in a Pod Security restricted namespace, the evidence that "
        "it runs rootless, and PMM 2 as the negative control"
    )


class PmmDeploy(_PmmCommand):
    DESCRIPTION = (
        "Deploy PMM Server. Creates the namespace with restricted enforce/warn/audit labels if it does not "
        "exist; pulls the image with rootless Podman into your store (skipped when it is there) and loads it "
        "into the cluster while a Secret with a generated admin password and the Service are applied; then "
        "the StatefulSet (uid/gid 1000, no capabilities, RuntimeDefault seccomp, the chart's probes); waits for "
        "the pod to be Running and Ready and, if it is not, prints its events and logs (exit 4); a pod that will "
        "never start (a config error, an image that cannot be pulled) stops the wait at once with the reason and "
        "the fix. Warns when no node has the 4 GB Percona asks for. /srv is a volume claim, or an emptyDir where "
        "the cluster has no default StorageClass."
    )
    DESCRIPTION_MORE = (
        "--version 2 runs the negative control with the blog's two PMM 2 manifests: the plain one must be "
        "rejected by PodSecurity admission, the one with security contexts admitted and then crash as non-root "
        "(supervisord's \"Can't drop privilege as nonroot user\", or the entrypoint's chown \"Operation not "
        "permitted\", read from the current and the previous container's log). That is exit 0 with --expect-failure, exit 4 without. "
        "The control runs in its own namespace, pmm2-control unless --namespace is given, and refuses a "
        "namespace whose StatefulSet pmm-server it did not write (PMM 3)."
    )

    pmm_version = cli.SwitchAttr(["--version"], cli.Set("3", "2"), argname="3|2", default="3",
                             help="PMM 3 (the workload) or PMM 2 (the negative control)")
    image = cli.SwitchAttr(["--image"], str, argname="IMAGE",
                           help="the PMM Server image (default: docker.io/percona/pmm-server:3.8.1, or :2.44.0)")
    image_archive = cli.SwitchAttr(["--image-archive"], str, argname="FILE",
                                   help="load the image from this docker-archive instead of pulling (offline)")
    storage = cli.SwitchAttr(["--storage"], cli.Set("pvc", "emptydir"), argname="pvc|emptydir",
                             help="where /srv lives (default: pvc with a default StorageClass, else emptydir)")
    wait = cli.SwitchAttr(["--wait"], Duration(), argname="DURATION",
                          help="how long to wait for the pod, e.g. 90s, 10m (default: 10m)")
    expect_failure = cli.Flag(["--expect-failure"], requires=["--version"],
                              help="with --version 2: the control failing as the blog shows is success")
    json = cli.Flag(["--json"], help="print the deploy report as JSON on stdout")

    def default_namespace(self) -> str:
        from ..workloads.pmm import default_namespace

        return default_namespace(int(self.pmm_version))

    def main(self):
        from .. import ui
        from ..errors import UsageError
        from ..workloads.pmm_deploy import DeployOptions, deploy

        if self.expect_failure and self.pmm_version != "2":
            raise UsageError("--expect-failure is for the PMM 2 negative control", hint="add --version 2")
        if self.image:
            from ..podman import image_ref

            image_ref(self.image)
        if self.image_archive is not None:
            from .. import inputs

            try:
                inputs.check_readable(self.image_archive, "image archive")
            except inputs.InputError as exc:
                raise UsageError(str(exc), hint="write one with `podman save --format docker-archive -o FILE "
                                                "IMAGE`") from None
        self.check_inputs()
        options = DeployOptions(namespace=self.ns, version=int(self.pmm_version), image=self.image,
                                image_archive=self.image_archive, storage=self.storage,
                                wait_seconds=DEFAULT_WAIT if self.wait is None else self.wait, expect_failure=self.expect_failure)
        try:
            report = deploy(self.target(), options)
        except Exception as exc:
            if self.json and getattr(exc, "report", None) is not None:
                ui.emit_json(exc.report.as_dict())
            raise
        if self.json:
            ui.emit_json(report.as_dict())
        elif report.version == 3:
            print(f"PMM 3 is Running and Ready: {report.namespace}/{report.pod['name']} on node "
                  f"{report.pod['node'] or '?'}, storage {report.storage}")
            print(f"next: rootlesskube pmm verify --namespace {report.namespace}")
        else:
            for stage in report.control:
                print(f"{stage['manifest']}: {stage['seen']}")
            print(f"PMM 2 {report.outcome}: it cannot run in a restricted namespace (expected)")
        return 0


class PmmVerify(_PmmCommand):
    DESCRIPTION = (
        "The evidence that PMM runs rootless, each a named check with the value seen: the namespace enforces "
        "restricted; the pod is Running and Ready; /v1/server/readyz answers 200 through the API server's "
        "service proxy; the container's PID 1 is uid 1000 with CapEff 0, NoNewPrivs 1 and Seccomp 2; its "
        "uid_map is not the identity map; and on the host every process of the node container that runs the "
        "pod is owned by you or your subordinate ids, none by root. Exit 0 when all hold, 4 when one does not."
    )

    json = cli.Flag(["--json"], help="print every check as JSON on stdout")

    def main(self):
        from .. import ui
        from ..errors import VerificationFailed
        from ..workloads.pmm_verify import gather_with_progress

        evidence = gather_with_progress(self.target(), self.ns, quiet=self.json)
        if self.json:
            ui.emit_json(evidence.as_dict())
        else:
            width = max(len(c.name) for c in evidence.checks)
            for check in evidence.checks:
                print(f"{'ok  ' if check.ok else 'FAIL'}  {check.name.ljust(width)}  {check.value}"
                      + ("" if check.ok else f"  (expected: {check.expected})"))
        if not evidence.ok:
            raise VerificationFailed(
                "PMM is not proven rootless: " + "; ".join(f"{c.name}: {c.value}" for c in evidence.failed),
                hint="each failed check names what was seen and what was expected")
        return 0


class PmmPassword(_PmmCommand):
    DESCRIPTION = (
        "Print the PMM admin password (user admin) from the cluster's Secret pmm-secret; it is kept nowhere "
        "else and shown only here."
    )

    def main(self):
        from ..workloads.pmm_deploy import read_password

        print(read_password(self.target().kubectl, self.ns))
        return 0


class PmmRemove(_PmmCommand):
    DESCRIPTION = (
        "Remove PMM from the namespace: the StatefulSet, Service, Secret and the data volume claim. "
        "The namespace stays."
    )

    def main(self):
        from .. import ui
        from ..workloads.pmm_deploy import remove

        removed = remove(self.target(), self.ns)
        ui.say(f"removed from {self.ns}: {', '.join(removed)}" if removed
               else f"nothing of PMM's was left in namespace {self.ns}")
        return 0


Pmm.subcommand("deploy", PmmDeploy)
Pmm.subcommand("verify", PmmVerify)
Pmm.subcommand("password", PmmPassword)
Pmm.subcommand("remove", PmmRemove)
