"""PMM Server manifests as data (../shared/reference/pmm.md §1, §2, §7).

PMM 3 is written for rootlesskube from the Percona chart's choices: uid/gid
1000 set explicitly (the image's USER is the name `pmm`, so runAsNonRoot alone
cannot be verified by the kubelet), fsGroupChangePolicy OnRootMismatch (a
recursive fsGroup chmod breaks PostgreSQL's data directory), the restricted
container fields, the chart's probes on /v1/readyz, updates off, and a Secret
with a generated admin password.

PMM 2 is the blog's negative control, as the blog has it: `plain` (01.pmm2.yaml,
rejected by admission) and `secure` (03.pmm2-secure.yaml, admitted, then
supervisord exits with "Can't drop privilege as nonroot user").
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
from typing import Dict, List, Optional

NAME = "pmm-server"  # StatefulSet, Service, container and app label, as in the blog
POD = f"{NAME}-0"
CONTAINER = NAME
SECRET = "pmm-secret"  # the chart's Secret name and key
PASSWORD_KEY = "PMM_ADMIN_PASSWORD"
DATA_VOLUME = "pmm-server-data"
DEFAULT_NAMESPACE = "pmm"
CONTROL_NAMESPACE = "pmm2-control"  # the PMM 2 control's own: it replaces, then deletes, pmm-server

PMM3_IMAGE = "docker.io/percona/pmm-server:3.8.1"  # the chart's appVersion at HEAD (pmm.md §2)
PMM2_IMAGE = "docker.io/percona/pmm-server:2.44.0"  # the blog's PMM 2 (short name percona/pmm-server:2.44.0)

HTTP_PORT, HTTPS_PORT = 8080, 8443
SERVICE_HTTPS_PORT = 443
READYZ = "/v1/server/readyz"  # nginx rewrites the probes' /v1/readyz to this
PROBE_PATH = "/v1/readyz"
PMM2_CRASH_LINE = "Can't drop privilege as nonroot user"
# PMM 2's entrypoint runs under errexit and, on a fresh /srv, `chown -R`s its subdirectories before it
# execs supervisord (build/docker/server/entrypoint.sh, PMM 2: `chown -R grafana:grafana /srv/grafana`,
# stored as yehornaumenko/pmm@bbf83a9e): as uid 1000 without CAP_CHOWN the first start can die there,
# and only a restart (the file it wrote first marks /srv initialised) reaches supervisord's line.
# GNU chown's message; the quotes follow the locale ('...' in C, curly in UTF-8).
PMM2_CHOWN_LINE = re.compile(r"chown: changing ownership of .+: Operation not permitted")

# Percona's memory for PMM 3: "recommended: 2+ CPU cores, 4+ GB RAM" (percona/pmm documentation/docs/
# install-pmm/install-pmm-server/deployment-options/docker/index.md @ 0ac50db4); the pmm-ha chart requests
# 3Gi with a 4Gi limit (percona-helm-charts charts/pmm-ha/values.yaml @ 3df2bb55). PMM 3.9.0 added
# PMM_CLICKHOUSE_CONFIG=low-memory (release-notes/3.9.0.md, PMM-14931) for hosts below ClickHouse's 16 GB.
MIN_MEMORY_BYTES = 4 * 10 ** 9  # Percona's "4 GB"; a 4 GiB VM's MemTotal (about 3.8 GiB) is above it
MEMORY_CHOICE = ("give the machine (or VM) at least 4 GB of memory, or run PMM 3.9.0 or later with "
                 "PMM_CLICKHOUSE_CONFIG=low-memory (ClickHouse's profile for small hosts)")

STORAGE_PVC, STORAGE_EMPTYDIR = "pvc", "emptydir"
STORAGE_SIZE = "10Gi"
REQUESTS = {"cpu": "500m", "memory": "2Gi"}  # no limits: PMM needs 4Gi+ under load (pmm.md §3.7)

# the chart's probe timings (values.yaml at HEAD)
STARTUP_PROBE = {"initialDelaySeconds": 60, "periodSeconds": 15, "failureThreshold": 20, "timeoutSeconds": 10}
READINESS_PROBE = {"initialDelaySeconds": 30, "periodSeconds": 10, "failureThreshold": 30, "timeoutSeconds": 5}
LIVENESS_PROBE = {"initialDelaySeconds": 120, "periodSeconds": 30, "failureThreshold": 10, "timeoutSeconds": 10}


def default_namespace(version: int) -> str:
    return CONTROL_NAMESPACE if version == 2 else DEFAULT_NAMESPACE


def new_password() -> str:
    return secrets.token_urlsafe(24)


def secret(password: str) -> dict:
    """The admin password Secret; applied through stdin, never written anywhere else."""
    encoded = base64.b64encode(password.encode()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": SECRET, "labels": {"app": NAME}},
            "data": {PASSWORD_KEY: encoded}}


def service() -> dict:
    """ClusterIP: a LoadBalancer stays <pending> on local clusters; the API server's proxy reaches it."""
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": NAME, "labels": {"app": NAME}},
            "spec": {"type": "ClusterIP", "selector": {"app": NAME},
                     "ports": [{"name": "https", "port": SERVICE_HTTPS_PORT, "targetPort": "https", "protocol": "TCP"},
                               {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}


def _probe(timing: dict) -> dict:
    return {"httpGet": {"path": PROBE_PATH, "port": "http"}, **timing}


def statefulset_pmm3(image: str = PMM3_IMAGE, storage: str = STORAGE_PVC) -> dict:
    container = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "env": [{"name": "PMM_ENABLE_UPDATES", "value": "0"},
                {"name": "GF_SECURITY_ADMIN_PASSWORD",
                 "valueFrom": {"secretKeyRef": {"name": SECRET, "key": PASSWORD_KEY}}}],
        "ports": [{"name": "http", "containerPort": HTTP_PORT}, {"name": "https", "containerPort": HTTPS_PORT}],
        "startupProbe": _probe(STARTUP_PROBE),
        "readinessProbe": _probe(READINESS_PROBE),
        "livenessProbe": _probe(LIVENESS_PROBE),
        "resources": {"requests": dict(REQUESTS)},
        "volumeMounts": [{"name": DATA_VOLUME, "mountPath": "/srv"},
                         # chart 1.5.0 (PMM-14747): the image writes its config here
                         {"name": "pmm-config", "mountPath": "/usr/local/percona/pmm/config"}],
    }
    pod_spec = {
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                            "fsGroupChangePolicy": "OnRootMismatch", "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "pmm-config", "emptyDir": {}}],
    }
    return with_storage(_statefulset(pod_spec), storage)


def _statefulset(pod_spec: dict) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": NAME, "labels": {"app": NAME}},
        "spec": {"serviceName": NAME, "replicas": 1, "selector": {"matchLabels": {"app": NAME}},
                 "template": {"metadata": {"labels": {"app": NAME}}, "spec": pod_spec}},
    }


def _blog_pmm2(secure: bool, image: str) -> dict:
    container: dict = {"name": CONTAINER, "image": image,
                       "ports": [{"containerPort": 80}, {"containerPort": 443}],
                       "volumeMounts": [{"name": DATA_VOLUME, "mountPath": "/srv"}]}
    pod_spec: dict = {"containers": [container]}
    if secure:  # 03.pmm2-secure.yaml: everything the warning asked for
        pod_spec["securityContext"] = {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}
        container["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                        "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    sts = _statefulset(pod_spec)
    del sts["metadata"]["labels"]  # the blog's StatefulSet has none
    return sts


def statefulset_pmm2(secure: bool, image: str = PMM2_IMAGE, storage: str = STORAGE_PVC) -> dict:
    return with_storage(_blog_pmm2(secure, image), storage)


def service_pmm2() -> dict:
    """The blog's Service (LoadBalancer, ports 80 and 443 straight through)."""
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": NAME},
            "spec": {"type": "LoadBalancer", "selector": {"app": NAME},
                     "ports": [{"port": 80, "targetPort": 80, "name": "http"},
                               {"port": 443, "targetPort": 443, "name": "https"}]}}


def with_storage(sts: dict, storage: str) -> dict:
    """/srv on a fresh PVC per pod (the default StorageClass), or an emptyDir where there is none."""
    sts = copy.deepcopy(sts)
    if storage == STORAGE_PVC:
        sts["spec"]["volumeClaimTemplates"] = [{
            "metadata": {"name": DATA_VOLUME},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": STORAGE_SIZE}}}}]
    elif storage == STORAGE_EMPTYDIR:
        pod_spec = sts["spec"]["template"]["spec"]
        pod_spec["volumes"] = [{"name": DATA_VOLUME, "emptyDir": {}}] + pod_spec.get("volumes", [])
    else:
        raise ValueError(f"unknown storage {storage!r}")
    return sts


def pmm3_objects(image: str = PMM3_IMAGE, storage: str = STORAGE_PVC,
                 password: Optional[str] = None) -> List[dict]:
    """Secret (only with a password: an existing one is never replaced), Service, StatefulSet."""
    objects = [secret(password)] if password is not None else []
    return objects + [service(), statefulset_pmm3(image, storage)]


def pmm2_objects(secure: bool, image: str = PMM2_IMAGE, storage: str = STORAGE_PVC) -> List[dict]:
    return [statefulset_pmm2(secure, image, storage), service_pmm2()]


def as_list(objects: List[dict], namespace: Optional[str] = None) -> Dict:
    """One v1 List for `kubectl apply -f -` (JSON is valid YAML)."""
    items = copy.deepcopy(objects)
    if namespace:
        for item in items:
            item["metadata"]["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "List", "items": items}
