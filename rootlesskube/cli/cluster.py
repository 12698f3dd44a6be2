"""`up`, `stop`, `start`, `down`, `status`: one cluster's life cycle."""

from __future__ import annotations

from plumbum import cli

from . import Command

DRIVER_NAMES = ("kind", "minikube", "usernetes")


class Up(Command):
    DESCRIPTION = (
        "Create a rootless cluster (or reuse the one that exists with the same spec) and wait until every "
        "node is Ready. Runs the doctor first and stops with exit 3 when the host is not ready. Prints the "
        "`export KUBECONFIG=...` line on stdout (the kubeconfig is private, under the state directory). On "
        "failure the logs are collected into a folder it names and the cluster is deleted. This is the cluster "
        "only; `rootlesskube run` (the default recipe, kind-pmm3-restricted) brings up the same default cluster "
        "and also labels a restricted namespace, deploys PMM 3 and proves that it runs rootless."
    )

    driver = cli.SwitchAttr(["--driver"], cli.Set(*DRIVER_NAMES), default="kind", help="the cluster tool")
    name = cli.SwitchAttr(["--name"], str, default="rootlesskube", help="cluster name (DNS-1123 label)")
    kubernetes = cli.SwitchAttr(["--kubernetes"], str, help="Kubernetes version, e.g. v1.36.1 (default: the tool's)")
    node_image = cli.SwitchAttr(["--node-image"], str, help="kind node image pinned by digest (NAME:TAG@sha256:...)")
    pss_default = cli.SwitchAttr(["--pss-default"], cli.Set("privileged", "baseline", "restricted"),
                                 help="cluster-wide PodSecurity enforce level for unlabeled namespaces (kind only)")
    api_port = cli.SwitchAttr(["--api-port"], cli.Range(0, 65535), default=0, help="API server host port (0: chosen)")
    workers = cli.SwitchAttr(["--workers"], cli.Range(0, 10), default=0, help="number of worker nodes")
    runtime = cli.SwitchAttr(["--container-runtime"], cli.Set("containerd", "cri-o"), default="containerd",
                             help="minikube's container runtime")
    usernetes_dir = cli.SwitchAttr(["--usernetes-dir"], str, help="an existing Usernetes checkout to use")
    port_etcd = cli.SwitchAttr(["--port-etcd"], cli.Range(1, 65535),
                               help="Usernetes: host port for etcd (the Makefile's PORT_ETCD, default 2379)")
    port_kubelet = cli.SwitchAttr(["--port-kubelet"], cli.Range(1, 65535),
                                  help="Usernetes: host port for the kubelet (PORT_KUBELET, default 10250)")
    port_flannel = cli.SwitchAttr(["--port-flannel"], cli.Range(1, 65535),
                                  help="Usernetes: host UDP port for flannel's VXLAN (PORT_FLANNEL, default 8472)")
    join = cli.SwitchAttr(["--join"], str, list=True, help="Usernetes: also join USER@HOST[:PORT] over SSH")
    join_dir = cli.SwitchAttr(["--join-usernetes-dir"], str,
                              help="Usernetes --join: the checkout on the joining hosts (default: the same path "
                                   "as here; a relative path is under the remote home)")
    ssh_config = cli.SwitchAttr(["--ssh-config"], cli.ExistingFile,
                                help="Usernetes --join: ssh_config for ssh and scp (-F): port, identity, known hosts")
    recreate = cli.Flag(["--recreate"], help="delete and recreate the cluster if it exists")
    keep = cli.Flag(["--keep-on-failure"], help="keep a cluster whose bring-up failed (to debug it)")
    timeout = cli.SwitchAttr(["--timeout"], cli.Range(1, 86400), help="seconds the cluster tool may take to create")
    wait = cli.SwitchAttr(["--wait"], cli.Range(0, 86400), default=300, help="seconds to wait for nodes to be Ready")
    json = cli.Flag(["--json"], help="print the cluster record as JSON on stdout (the doctor's report when the "
                                     "host is not ready)")
    ignore_checks = cli.SwitchAttr(["--ignore-checks"], str, argname="ID[,ID...]|all",
                                   help="go past these failing doctor checks (ids as `rootlesskube doctor` prints "
                                        "them); they stay in the report, marked ignored")

    def main(self):
        from .. import cluster, ui
        from ..drivers.base import ClusterSpec
        from ..errors import HostNotReady
        from ..host import ignore
        from ..names import ssh_target

        ignored = ignore.validate(ignore.parse(self.ignore_checks), self.driver.lower()) if self.ignore_checks else ()

        for host in self.join:
            ssh_target(host)  # before the doctor runs
        ports = (("PORT_ETCD", self.port_etcd), ("PORT_KUBELET", self.port_kubelet), ("PORT_FLANNEL", self.port_flannel))
        spec = ClusterSpec(
            name=self.name, driver=self.driver, kubernetes=self.kubernetes, node_image=self.node_image,
            api_port=self.api_port, pss_default=self.pss_default, workers=self.workers,
            container_runtime=self.runtime, usernetes_dir=self.usernetes_dir,
            usernetes_ports=tuple((key, port) for key, port in ports if port is not None), join_hosts=tuple(self.join),
            join_usernetes_dir=self.join_dir, ssh_config=str(self.ssh_config) if self.ssh_config else None,
        )
        options = cluster.UpOptions(recreate=self.recreate, keep_on_failure=self.keep, wait_seconds=self.wait,
                                    create_timeout=self.timeout, ignore_checks=ignored)
        try:
            record = cluster.up(spec, options)
        except HostNotReady as exc:
            if self.json and getattr(exc, "report", None) is not None:
                ui.emit_json(exc.report.as_dict())  # the doctor's report, as `doctor --json` prints it
            raise
        if self.json:
            ui.emit_json(record.as_dict())
        else:
            ui.say(f"cluster {record.name!r} ({record.driver}) is "
                   + ("started again (it was stopped)" if record.started
                      else "reused, nothing changed" if record.reused else "ready"))
            print(f"export KUBECONFIG={record.kubeconfig}")
        return 0


class Down(Command):
    DESCRIPTION = (
        "Delete a cluster this user's rootlesskube created. On a shared host it never deletes a cluster it "
        "did not create, unless --force."
    )

    name = cli.SwitchAttr(["--name"], str, default="rootlesskube", help="cluster name")
    force = cli.Flag(["--force"], help="delete it even if rootlesskube did not create it")

    def main(self):
        from .. import cluster, ui

        existed = cluster.down(self.name, force=self.force)
        ui.say(f"cluster {self.name!r} deleted" if existed else f"cluster {self.name!r} did not exist; record removed")
        return 0


class Stop(Command):
    DESCRIPTION = (
        "Stop a cluster this user's rootlesskube created, keeping its data and workloads: kind's node containers "
        "with rootless Podman (workers first), `minikube stop`, Usernetes' `make down` (never `down-v`). "
        "`rootlesskube start` (or `up` with the same switches) brings it back."
    )

    name = cli.SwitchAttr(["--name"], str, default="rootlesskube", help="cluster name")

    def main(self):
        from .. import cluster, ui

        record = cluster.stop(self.name)
        ui.say(f"cluster {record.name!r} ({record.driver}) is stopped; `rootlesskube start --name {record.name}` "
               "starts it again")
        return 0


class Start(Command):
    DESCRIPTION = (
        "Start a stopped cluster (after `rootlesskube stop` or a reboot) and wait until every node is Ready; the "
        "private kubeconfig is rewritten when the API server's host port changed. Prints the `export KUBECONFIG=...` "
        "line on stdout. A multi-node kind cluster whose nodes came back with new addresses is refused with the "
        "way back (kind cannot restart it on Podman)."
    )

    name = cli.SwitchAttr(["--name"], str, default="rootlesskube", help="cluster name")
    wait = cli.SwitchAttr(["--wait"], cli.Range(0, 86400), default=300, help="seconds to wait for nodes to be Ready")
    json = cli.Flag(["--json"], help="print the cluster record as JSON on stdout")

    def main(self):
        from .. import cluster, ui

        record = cluster.start(self.name, cluster.UpOptions(wait_seconds=self.wait))
        if self.json:
            ui.emit_json(record.as_dict())
        else:
            ui.say(f"cluster {record.name!r} ({record.driver}) is running and Ready")
            print(f"export KUBECONFIG={record.kubeconfig}")
        return 0


class Status(Command):
    DESCRIPTION = ("Every cluster this user's rootlesskube knows: driver, state (running, stopped, degraded: some "
                   "node containers run, others not; gone: the containers were removed, the record remains) from "
                   "Podman's container state, each node container, the nodes' Ready, API endpoint, kubeconfig.")

    name = cli.SwitchAttr(["--name"], str, help="only this cluster")
    json = cli.Flag(["--json"], help="print the status as JSON on stdout")

    def main(self):
        from .. import cluster, ui
        from ..names import dns1123_label

        rows = cluster.status(None if self.name is None else dns1123_label(self.name, "cluster name"))
        if self.json:
            ui.emit_json(rows)
            return 0
        if not rows:
            ui.say("rootlesskube knows no clusters; create one with `rootlesskube up`")
            return 0
        for row in rows:
            nodes = ", ".join(f"{n['name']} ({'Ready' if n['ready'] else 'NotReady'})" for n in row["nodes"]) or "-"
            containers = ", ".join(f"{c['name']} ({c['state']}"
                                   + (f", podman: {c['podman_state']})" if c["podman_state"] not in ("running", "exited")
                                      else ")") for c in row["containers"]) or "-"
            print(f"{row['name']}\n  driver:      {row['driver']}\n  exists:      {'yes' if row['exists'] else 'no'}"
                  f"\n  ready:       {'yes' if row['ready'] else 'no'}\n  state:       {row['lifecycle']}"
                  f"\n  containers:  {containers}\n  nodes:       {nodes}"
                  f"\n  api:         {row['api_endpoint'] or '-'}\n  kubeconfig:  {row['kubeconfig']}"
                  + (f"\n  note:        {row['detail']}" if row["detail"] else ""))
        return 0
