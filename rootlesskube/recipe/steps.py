"""Run a recipe: plan (pure, what --dry-run prints) then execute, one ui.step per planned step.

Steps run in order and stop at the first failure. Then, with further signals
held off (cluster.deferred_signals), the evidence is collected into the
artifacts folder (driver logs, `kubectl get events -A`, `describe` and logs of
failed pods) and the clusters this run brought up are cleaned up per the
recipe's policy, exactly once, also when SIGTERM (Interrupted) or Ctrl-C ended
the run. A bring-up that fails is handled by cluster.up itself (its logs are
moved into the artifacts folder): with `cleanup: always` it deletes the
half-created cluster; with `on-success` and `never` (or --keep) it keeps it,
and the report lists it as kept with the command that deletes it, like every
cluster the policy keeps. `cleanup: stop` stops the clusters instead (their
data stays; `rootlesskube start` or the next run brings them back).

A warm run (`cluster: {reuse: true}`, with `cleanup: stop` or `never`): the
bring-up starts the stopped cluster (cluster.up), each of the recipe's
namespaces is deleted, waited for and created again on a reused cluster (and
only those: the rest of the cluster stays as it is), and the images go through
rootlesskube.images, which loads none a node already holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from .. import cluster, paths, ui
from ..drivers.base import ClusterSpec
from ..errors import EXIT_INTERRUPTED, EXIT_OK, RootlesskubeError, VerificationFailed
from .load import Check, Namespace, Recipe, Workload

PSA_REJECTED = "violates PodSecurity"  # kubectl's admission error text (contracts §5.2)


@dataclass(frozen=True)
class PlannedStep:
    kind: str  # doctor, pss-check, up, namespace, workload, rootless, pmm-verify
    title: str
    does: str  # what it will do, in words (--dry-run)
    cluster: Optional[ClusterSpec] = None
    item: Any = None  # the recipe's Namespace, Workload or Check

    def as_dict(self) -> dict:
        return {"kind": self.kind, "title": self.title, "does": self.does,
                "cluster": self.cluster.name if self.cluster else None}


# --- plan ---
def plan(recipe: Recipe, clusters: List[ClusterSpec]) -> List[PlannedStep]:
    """Every step of the run, in order. Offline checks first, then each cluster in turn."""
    steps: List[PlannedStep] = []
    for check in recipe.checks:
        if check.type == "doctor":
            past = f" (except {', '.join(recipe.ignore_checks)}: doctor.ignore)" if recipe.ignore_checks else ""
            steps.append(PlannedStep("doctor", f"check the host for {recipe.cluster.driver} (doctor)",
                                     f"run every host check for {recipe.cluster.driver}; stop if one fails{past}",
                                     item=check))
        elif check.type == "pss-check":
            steps.append(PlannedStep("pss-check", f"pss check ({check.level}:{check.version})",
                                     f"evaluate {', '.join(check.files)} against {check.level}:{check.version} "
                                     "offline", item=check))
    for spec in clusters:
        steps.append(PlannedStep("up", f"bring up the {spec.driver} cluster {spec.name!r}", _up_words(spec, recipe),
                                 spec))
        for ns in recipe.namespaces:
            labels = ", ".join(f"{k}={v}" for k, v in ns.labels.to_labels().items()) or "no Pod Security labels"
            reset = (f"on a reused cluster first delete Namespace {ns.name} and wait until it is gone "
                     "(cluster.reuse); then ") if recipe.reuse else ""
            steps.append(PlannedStep("namespace", f"namespace {ns.name!r} on {spec.name!r}",
                                     f"{reset}apply Namespace {ns.name} with {labels}", spec, ns))
        for workload in recipe.workloads:
            steps.append(PlannedStep("workload", f"{_workload_name(workload)} in {workload.namespace!r} on "
                                     f"{spec.name!r}", _workload_words(workload), spec, workload))
        for check in recipe.checks:
            if check.type == "rootless":
                steps.append(PlannedStep("rootless", f"prove {spec.name!r} rootless",
                                         "verify the host owners of every node container's processes", spec, check))
            elif check.type == "pmm-verify":
                steps.append(PlannedStep("pmm-verify", f"pmm verify in {check.namespace!r} on {spec.name!r}",
                                         f"verify PMM in namespace {check.namespace}", spec, check))
    return steps


def _up_words(spec: ClusterSpec, recipe: Recipe) -> str:
    if recipe.reuse:
        parts = [f"reuse {spec.driver} cluster {spec.name} (start it if it is stopped), or create it"]
    else:
        parts = [f"create or reuse {spec.driver} cluster {spec.name}"]
    if spec.kubernetes or spec.node_image:
        parts.append(f"Kubernetes {spec.node_image or spec.kubernetes}")
    if spec.pss_default:
        parts.append(f"cluster-wide Pod Security default {spec.pss_default}")
    if spec.api_port:
        parts.append(f"API server on 127.0.0.1:{spec.api_port}")
    parts += [f"host port {m.host_port} -> node port {m.container_port}" for m in spec.port_mappings]
    parts.append(f"wait {recipe.timeouts.ready}s for Ready nodes")
    return "; ".join(parts)


def _workload_name(workload: Workload) -> str:
    return {"pmm3": "PMM 3", "pmm2": "PMM 2", "manifests": "manifests"}[workload.type]


def _workload_words(workload: Workload) -> str:
    what = ", ".join(workload.files) if workload.type == "manifests" else _workload_name(workload)
    if workload.image_archive:
        what += f" (image from {workload.image_archive})"
    expect = "expect Pod Security admission to reject it" if workload.expect == "rejected" else "expect it to run"
    return f"deploy {what} into namespace {workload.namespace}; {expect}"


# --- execute ---
@dataclass
class RunOptions:
    artifacts: Optional[Path] = None  # None: a new folder under the state directory
    keep: bool = False  # keep every cluster, whatever the policy
    ignore_checks: Tuple[str, ...] = ()  # --ignore-checks, added to the recipe's doctor.ignore


@dataclass
class RunResult:
    recipe: Recipe
    records: List[ui.StepRecord] = field(default_factory=list)
    artifacts_dir: Optional[Path] = None  # set when something was collected
    exit_code: int = EXIT_OK
    kept: List[str] = field(default_factory=list)  # clusters left running (also half-created ones)
    started: float = field(default_factory=time.time)
    ignored_checks: List[str] = field(default_factory=list)  # failing doctor checks the run went past
    ignore_source: str = ""  # where they were ignored: doctor.ignore, --ignore-checks

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    def kubeconfig(self, name: str) -> str:
        return str(cluster.kubeconfig_path(name))

    @staticmethod
    def delete_command(name: str) -> str:
        return f"rootlesskube down --name {name}"


class Runner:
    """One run of one recipe. run_steps() then finish() (always, exactly once)."""

    def __init__(self, recipe: Recipe, steps: List[PlannedStep], options: Optional[RunOptions] = None):
        self.recipe = recipe
        self.steps = steps
        self.options = options or RunOptions()
        self.result = RunResult(recipe)
        self.brought_up: Dict[str, ClusterSpec] = {}
        self.reused: Set[str] = set()  # clusters that existed before this run (their namespaces are reset on reuse)
        self.kept_failed: List[str] = []  # half-created clusters cluster.up kept (cleanup on-success, never; --keep)
        self._failed: Optional[PlannedStep] = None
        self._failed_record: Optional[ui.StepRecord] = None
        self._finished = False

    def run_steps(self) -> None:
        for index, step in enumerate(self.steps):
            with _recorded(self.result.records, step.title) as record:
                try:
                    ACTIONS[step.kind](self, step, record)
                except (RootlesskubeError, KeyboardInterrupt) as exc:
                    self._fail(step, record, exc)
            if self._failed is not None:
                for skipped in self.steps[index + 1:]:
                    self.result.records.append(ui.StepRecord(skipped.title, "skipped", message="not run: an "
                                                             "earlier step failed"))
                return

    def _fail(self, step: PlannedStep, record: ui.StepRecord, exc: BaseException) -> None:
        self._failed, self._failed_record = step, record
        record.status = "failed"
        text = str(exc).strip() or "interrupted"
        record.message = text.splitlines()[0]
        seen = f"\n\n{record.detail}" if record.detail else ""  # what the step recorded before it failed
        record.detail = text + (f"\nhint: {exc.hint}" if getattr(exc, "hint", None) else "") + seen
        self.result.exit_code = getattr(exc, "exit_code", EXIT_INTERRUPTED)
        ui.error(text, getattr(exc, "hint", None))

    def finish(self) -> RunResult:
        """Collect evidence of a failure, then clean up per policy. Runs once; signals wait until it is done."""
        if self._finished:
            return self.result
        self._finished = True
        with cluster.deferred_signals():
            if self._failed is not None:
                self._collect()
            self._cleanup()
        return self.result

    # --- failure evidence ---
    def artifacts_dir(self) -> Path:
        if self.result.artifacts_dir is None:
            folder = self.options.artifacts or (paths.state_dir() / "runs" / time.strftime(
                f"{self.recipe.name}-%Y%m%d-%H%M%S", time.localtime(self.result.started)))
            self.result.artifacts_dir = paths.private_dir(folder)
        return self.result.artifacts_dir

    def _collect(self) -> None:
        from .artifacts import collect_cluster, move_bring_up_logs

        step, record = self._failed, self._failed_record
        assert step is not None and record is not None
        spec = step.cluster
        if spec is None:
            return
        folder = self.artifacts_dir() / spec.name
        with ui.step(f"collect evidence from {spec.name!r} into {folder}"):
            if step.kind == "up":
                record.artifacts += move_bring_up_logs(spec.name, self.result.started, folder)
            if spec.name in self.brought_up or cluster.load_record(spec.name) is not None:
                record.artifacts += collect_cluster(spec, folder)
        if record.artifacts:
            ui.say(f"artifacts of the failed step: {folder}")

    # --- cleanup per policy ---
    def _cleanup(self) -> None:
        policy = self.recipe.cleanup
        why = "--keep" if self.options.keep else f"cleanup: {policy}"
        for name in self.kept_failed:
            self._keep(name, f"its bring-up failed; {why}")
        for name in reversed(list(self.brought_up)):
            if policy == "stop" and not self.options.keep:
                self._stop(name)
                continue
            delete = not self.options.keep and (policy == "always" or (policy == "on-success" and self.result.ok))
            if not delete:
                self._keep(name, why)
                continue
            with _recorded(self.result.records, f"delete the cluster {name!r} (cleanup: {policy})") as record:
                try:
                    cluster.down(name)
                except RootlesskubeError as exc:
                    record.status, record.message = "failed", str(exc).splitlines()[0]
                    ui.error(f"could not delete cluster {name!r}: {exc}",
                             f"remove it with: rootlesskube down --name {name} --force")
                    self.result.kept.append(name)
                    if self.result.ok:
                        self.result.exit_code = exc.exit_code

    def _stop(self, name: str) -> None:
        """cleanup: stop: the cluster stays with its data, stopped, for the next run (cluster.reuse)."""
        with _recorded(self.result.records, f"stop the cluster {name!r} (cleanup: stop)") as record:
            try:
                cluster.stop(name)
            except RootlesskubeError as exc:
                record.status, record.message = "failed", str(exc).splitlines()[0]
                ui.error(f"could not stop cluster {name!r}: {exc}", f"stop it with: rootlesskube stop --name {name}")
                if self.result.ok:
                    self.result.exit_code = exc.exit_code
            else:
                record.message = f"stopped; the next run or `rootlesskube start --name {name}` starts it"
        self.result.kept.append(name)

    def _keep(self, name: str, why: str) -> None:
        ui.say(f"kept cluster {name!r} ({why}); remove it with: {self.result.delete_command(name)}")
        self.result.kept.append(name)


def keeps_a_failed_bring_up(recipe: Recipe, options: RunOptions) -> bool:
    """Only `cleanup: always` (without --keep) deletes a cluster whose bring-up failed."""
    return options.keep or recipe.cleanup != "always"


def execute(recipe: Recipe, steps: List[PlannedStep], options: Optional[RunOptions] = None) -> RunResult:
    runner = Runner(recipe, steps, options)
    try:
        runner.run_steps()
    finally:
        runner.finish()
    return runner.result


class _recorded:
    """ui.step whose record is kept in `records`; a failure recorded by the runner does not propagate."""

    def __init__(self, records: List[ui.StepRecord], title: str):
        self.records, self.title = records, title

    def __enter__(self) -> ui.StepRecord:
        self._step = ui.step(self.title)
        record = self._step.__enter__()
        self.records.append(record)
        return record

    def __exit__(self, *exc_info) -> bool:
        return bool(self._step.__exit__(*exc_info))


# --- the actions, one per step kind ---
def _kubectl(spec: ClusterSpec, timeout: float):
    from ..kube import Kubectl

    return Kubectl(str(cluster.kubeconfig_path(spec.name)), timeout=timeout)


def ignoring(recipe: Recipe, options: RunOptions) -> Tuple[Tuple[str, ...], str]:
    """The doctor checks this run goes past, and where they were given."""
    both = tuple(dict.fromkeys(recipe.ignore_checks + options.ignore_checks))
    source = " and ".join(s for s, given in (("doctor.ignore", recipe.ignore_checks),
                                             ("--ignore-checks", options.ignore_checks)) if given)
    return both, source


def _went_past(runner: Runner, ignored: List[str]) -> None:
    runner.result.ignored_checks += [i for i in ignored if i not in runner.result.ignored_checks]
    runner.result.ignore_source = ignoring(runner.recipe, runner.options)[1]


def _doctor(runner: Runner, step: PlannedStep, record: ui.StepRecord) -> None:
    ignore, source = ignoring(runner.recipe, runner.options)
    ignored = cluster.check_host(runner.recipe.cluster.driver, ignore, source)
    _went_past(runner, ignored)
    if ignored:
        record.message = f"{len(ignored)} failing check(s) ignored ({source}): {', '.join(ignored)}"


def _pss_check(runner: Runner, step: PlannedStep, record: ui.StepRecord) -> None:
    from ..pss.check import check_files, lines

    check: Check = step.item
    records = check_files(list(check.files), check.level, check.version)
    rejected = [line for r, line in zip(records, lines(records)) if not r["allowed"]]
    record.detail = "\n".join(lines(records))
    if rejected:
        raise VerificationFailed(f"{len(rejected)} of {len(records)} objects would be rejected at "
                                 f"{check.level}:{check.version}:\n" + "\n".join(rejected),
                                 hint="`rootlesskube pss fix FILE` proposes the securityContext changes")
    record.message = f"{len(records)} objects allowed at {check.level}:{check.version}"


def _up(runner: Runner, step: PlannedStep, record: ui.StepRecord) -> None:
    recipe, spec = runner.recipe, step.cluster
    assert spec is not None
    keep_failed = keeps_a_failed_bring_up(recipe, runner.options)
    ignore, source = ignoring(recipe, runner.options)
    options = cluster.UpOptions(keep_on_failure=keep_failed, wait_seconds=recipe.timeouts.ready,
                                create_timeout=recipe.timeouts.create, ignore_checks=ignore, ignore_source=source)
    try:
        made = cluster.up(spec, options)
    except BaseException:
        kept = cluster.load_record(spec.name)
        if keep_failed and kept is not None and kept.state == "failed":  # cluster.up kept what it half created
            runner.kept_failed.append(spec.name)
        raise
    runner.brought_up[spec.name] = spec
    if made.reused:
        runner.reused.add(spec.name)
    _went_past(runner, made.ignored_checks)
    how = ("started (it was stopped)" if made.started else "reused") if made.reused else "created"
    record.message = f"{how}; kubeconfig {made.kubeconfig}"


def _namespace(runner: Runner, step: PlannedStep, record: ui.StepRecord) -> None:
    from ..pss.namespaces import apply_namespace

    ns: Namespace = step.item
    timeout = runner.recipe.timeouts.workload
    kubectl = _kubectl(step.cluster, timeout)
    reset = runner.recipe.reuse and step.cluster.name in runner.reused
    if reset:  # a warm run starts from the recipe's namespaces as they are declared, nothing else of the cluster
        kubectl.run(["delete", "namespace", ns.name, "--ignore-not-found", "--wait=true", f"--timeout={timeout}s"])
    result = apply_namespace(kubectl, ns.name, ns.labels)
    record.message = f"namespace/{ns.name} {'reset: deleted, then ' if reset else ''}{result.operation}"


def _workload(runner: Runner, step: PlannedStep, record: ui.StepRecord) -> None:
    workload: Workload = step.item
    if workload.type != "manifests":
        record.message = _deploy_pmm(runner, step, workload)
        return
    outcome = _apply_manifests(_kubectl(step.cluster, runner.recipe.timeouts.workload), workload)
    if workload.expect == "rejected":
        if outcome is None:
            raise VerificationFailed(f"{_workload_name(workload)} was admitted into namespace {workload.namespace!r}, "
                                     "but the recipe expects Pod Security admission to reject it",
                                     hint="is the namespace labelled enforce=restricted? (`rootlesskube ns show`)")
        record.message = f"rejected as expected: {outcome}"
    elif outcome is not None:
        raise VerificationFailed(f"{_workload_name(workload)} was rejected: {outcome}",
                                 hint="`rootlesskube pss check FILE` shows why offline; `rootlesskube pss fix` fixes")


def _deploy_pmm(runner: Runner, step: PlannedStep, workload: Workload) -> str:
    """`rootlesskube pmm deploy`: PMM 3 must become Ready; PMM 2 (expect: rejected) must fail as the blog shows."""
    from ..workloads.pmm_deploy import DeployOptions, deploy

    options = DeployOptions(namespace=workload.namespace, version=3 if workload.type == "pmm3" else 2,
                            image_archive=workload.image_archive, wait_seconds=runner.recipe.timeouts.workload,
                            expect_failure=workload.expect == "rejected")
    return deploy(_target(step, runner.recipe.timeouts.workload), options).outcome


def _target(step: PlannedStep, timeout: float):
    """The step's cluster for the PMM commands; `timeout` bounds each kubectl call."""
    from ..drivers import get_driver
    from ..workloads.target import Target

    return Target(_kubectl(step.cluster, timeout), step.cluster.name, get_driver(step.cluster.driver))


def _apply_manifests(kubectl, workload: Workload) -> Optional[str]:
    """None when every file was applied; the admission error when Pod Security rejected one."""
    from ..inputs import read_text
    from ..run import CommandError

    for file in workload.files:
        text = read_text(file, "manifest")  # a regular file of bounded size: a FIFO cannot hang the run
        try:
            kubectl.apply(text, namespace=workload.namespace)
        except CommandError as exc:
            if PSA_REJECTED in exc.stderr:
                return exc.stderr.strip().splitlines()[-1]
            raise
    return None


def _rootless(runner: Runner, step: PlannedStep, record: ui.StepRecord) -> None:
    from ..drivers import get_driver
    from ..podman import Podman
    from ..verify import UserIds, verify_container

    spec = step.cluster
    user = UserIds.lookup()
    nodes = get_driver(spec.driver).node_containers(spec.name)
    if not nodes:
        raise RootlesskubeError(f"cluster {spec.name!r} has no node containers to verify",
                                hint=f"`rootlesskube status --name {spec.name}` shows its state")
    verdicts = []
    for node in nodes:
        proof = verify_container(Podman(timeout=runner.recipe.timeouts.check), node, user)
        if not proof.rootless:
            raise VerificationFailed(proof.verdict_line(), hint=f"`rootlesskube verify --container {node}` "
                                                                "lists every offending process")
        verdicts.append(node)
    record.message = f"rootless: {', '.join(verdicts)}"


def _pmm_verify(runner: Runner, step: PlannedStep, record: ui.StepRecord) -> None:
    from ..workloads.pmm_verify import gather

    check: Check = step.item
    evidence = gather(_target(step, runner.recipe.timeouts.check), check.namespace)
    record.detail = "\n".join(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.value}" for c in evidence.checks)
    if not evidence.ok:
        raise VerificationFailed("PMM is not proven rootless: " + "; ".join(f"{c.name}: {c.value} (expected: "
                                                                            f"{c.expected})" for c in evidence.failed),
                                 hint=f"`rootlesskube pmm verify --cluster {step.cluster.name}` shows every check")
    record.message = f"{len(evidence.checks)} checks passed"


ACTIONS: Dict[str, Callable[[Runner, PlannedStep, ui.StepRecord], None]] = {
    "doctor": _doctor, "pss-check": _pss_check, "up": _up, "namespace": _namespace, "workload": _workload,
    "rootless": _rootless, "pmm-verify": _pmm_verify,
}

__all__ = ["PlannedStep", "plan", "RunOptions", "RunResult", "Runner", "execute", "keeps_a_failed_bring_up"]
