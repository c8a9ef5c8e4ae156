"""deploy/k8s and the Dockerfile, checked offline.

Each kustomization (the base and the dev and prod overlays) is rendered with `kubectl
kustomize` where kubectl is installed, else with the small renderer below, which covers the
kustomization features the tree uses and refuses any other. Every built-in resource is
validated against the API schemas of one pinned Kubernetes version (kubernetes-validate,
strict: unknown fields are errors). The operator resources (Strimzi, CloudNativePG) have no
schemas there; the fields the platform relies on are checked by hand. Then the invariants:
probes, limits and security context on every pod, one Deployment, Service and migration Job
per process, only settings the code reads, topic names equal to the code's, no Secret values,
the network paths, the autoscalers, disruption budgets and the connection budget.
"""
from __future__ import annotations

import copy
import functools
import inspect
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from services.orders.settings import OrdersSettings
from shared.db import Database
from shared.settings import DEFAULT_PORTS, PROCESSES, SERVICES, TOPICS, Settings
from shared.storage import StorageSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BUILDS = ("base", "overlays/dev", "overlays/prod")
OVERLAYS = ("overlays/dev", "overlays/prod")

# The Kubernetes API the manifests are written against; kubernetes-validate must bundle its
# schemas (it would otherwise fall back to an older version without saying so).
KUBERNETES_VERSION = "1.35.0"

# Operator resources: no schema in kubernetes-validate, checked field by field below.
CUSTOM_KINDS = {
    "kafka.strimzi.io/v1": {"Kafka", "KafkaNodePool", "KafkaTopic"},
    "postgresql.cnpg.io/v1": {"Cluster", "Database"},
}

# Environment variables the manifests may set that are not YOUFU_ settings, with the module
# that reads each one (checked against that module's source).
LIBRARY_ENV = {
    "PGPASSWORD": "asyncpg.connect_utils",  # password for the role in the database URL
    "PGSSLMODE": "asyncpg.connect_utils",
    "FORWARDED_ALLOW_IPS": "uvicorn.config",  # which proxies' X-Forwarded-For to trust
}

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

class Kustomization:
    """A renderer for the subset of kustomize that deploy/k8s uses.

    Supported: resources (files and directories), namespace, labels (pairs, without
    includeSelectors or includeTemplates), patches (JSON 6902, with a target), images and
    replicas, applied in kustomize's order. Anything else raises, so a kustomization that
    outgrows this renderer fails loudly instead of rendering something else than kubectl.
    """

    SUPPORTED = {"apiVersion", "kind", "namespace", "labels", "resources", "patches", "images", "replicas"}
    CLUSTER_SCOPED = {
        "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "IngressClass",
        "PersistentVolume", "PriorityClass", "StorageClass", "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration", "APIService",
    }
    REPLICATED = {"Deployment", "ReplicaSet", "ReplicationController", "StatefulSet"}
    IMAGE_PATHS = (
        ("spec",), ("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec"),
    )

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
        unsupported = set(self.spec) - self.SUPPORTED
        if unsupported:
            raise NotImplementedError(f"{directory}: kustomization fields {sorted(unsupported)} "
                                      "are not handled by this test's renderer")

    def build(self) -> list[dict]:
        resources: list[dict] = []
        for entry in self.spec.get("resources", []):
            path = (self.dir / entry).resolve()
            if path.is_dir():
                resources += Kustomization(path).build()
            else:
                resources += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        ids = [resource_id(r) for r in resources]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"{self.dir}: resources defined twice: {sorted(duplicates)}")
        for patch in self.spec.get("patches", []):
            self._patch(resources, patch)
        if "namespace" in self.spec:
            self._namespace(resources, self.spec["namespace"])
        for entry in self.spec.get("labels", []):
            if entry.get("includeSelectors") or entry.get("includeTemplates"):
                raise NotImplementedError("labels with includeSelectors/includeTemplates")
            for resource in resources:
                resource["metadata"].setdefault("labels", {}).update(entry["pairs"])
        for entry in self.spec.get("replicas", []):
            matched = [r for r in resources if r["kind"] in self.REPLICATED and r["metadata"]["name"] == entry["name"]]
            if not matched:
                raise ValueError(f"{self.dir}: replicas for unknown workload {entry['name']}")
            for resource in matched:
                resource["spec"]["replicas"] = entry["count"]
        for entry in self.spec.get("images", []):
            for resource in resources:
                self._image(resource, entry)
        return resources

    def _patch(self, resources: list[dict], entry: dict) -> None:
        text = (self.dir / entry["path"]).read_text() if "path" in entry else entry["patch"]
        operations = yaml.safe_load(text)
        if not isinstance(operations, list):
            raise NotImplementedError(f"{self.dir}: only JSON 6902 patches are handled by this renderer")
        target = entry.get("target")
        if not target:
            raise ValueError(f"{self.dir}: a JSON 6902 patch needs a target")
        matched = [r for r in resources if matches_target(r, target)]
        if not matched:
            raise ValueError(f"{self.dir}: patch {entry.get('path')} matches no resource")
        for resource in matched:
            for operation in operations:
                json_patch(resource, operation)

    def _namespace(self, resources: list[dict], namespace: str) -> None:
        for resource in resources:
            kind = resource["kind"]
            if kind in {"RoleBinding", "ClusterRoleBinding"}:
                raise NotImplementedError("namespace transformer on role bindings")
            if kind == "Namespace":
                if resource["metadata"]["name"] != namespace:
                    raise NotImplementedError("renaming a Namespace object")
            elif kind not in self.CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = namespace

    def _image(self, resource: dict, entry: dict) -> None:
        for path in self.IMAGE_PATHS:
            node = resource
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                continue
            for container in node.get("containers", []) + node.get("initContainers", []):
                if image_name(container["image"]) != entry["name"]:
                    continue
                name = entry.get("newName", image_name(container["image"]))
                if "digest" in entry:
                    container["image"] = f"{name}@{entry['digest']}"
                else:
                    tag = entry.get("newTag", image_tag(container["image"]))
                    container["image"] = f"{name}:{tag}" if tag else name


def resource_id(resource: dict) -> tuple[str, str, str, str]:
    meta = resource["metadata"]
    return resource["apiVersion"], resource["kind"], meta.get("namespace", ""), meta["name"]


def image_name(image: str) -> str:
    image = image.split("@", 1)[0]
    head, _, tail = image.rpartition(":")
    return head if head and "/" not in tail else image


def image_tag(image: str) -> str | None:
    if "@" in image:
        return None
    name = image_name(image)
    return (image[len(name) + 1:] or None) if image != name else None


def matches_target(resource: dict, target: dict) -> bool:
    unsupported = set(target) - {"group", "version", "kind", "name", "namespace", "labelSelector"}
    if unsupported:
        raise NotImplementedError(f"patch target fields {sorted(unsupported)}")
    group, _, version = resource["apiVersion"].rpartition("/")
    meta = resource["metadata"]
    fields = {"group": group, "version": version, "kind": resource["kind"],
              "name": meta["name"], "namespace": meta.get("namespace", "")}
    for key, value in fields.items():
        if key in target and not re.fullmatch(target[key], value):
            return False
    if "labelSelector" in target:
        labels = meta.get("labels", {})
        for term in target["labelSelector"].split(","):
            key, _, value = term.partition("=")
            if labels.get(key.strip()) != value.strip():
                return False
    return True


def json_patch(document: dict, operation: dict) -> None:
    """Apply one RFC 6902 operation (add, remove, replace, test) in place."""
    op, path = operation["op"], operation["path"]
    keys = [k.replace("~1", "/").replace("~0", "~") for k in path.split("/")[1:]]
    parent = document
    for key in keys[:-1]:
        parent = parent[int(key)] if isinstance(parent, list) else parent[key]
    last = keys[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, copy.deepcopy(operation["value"]))
        elif op == "remove":
            del parent[index]
        elif op == "replace":
            parent[index] = copy.deepcopy(operation["value"])
        elif op == "test":
            assert parent[index] == operation["value"], path
        else:
            raise NotImplementedError(f"JSON patch op {op}")
        return
    if op in {"remove", "replace", "test"} and last not in parent:
        raise KeyError(f"JSON patch {op} {path}: no such member")
    if op in {"add", "replace"}:
        parent[last] = copy.deepcopy(operation["value"])
    elif op == "remove":
        del parent[last]
    elif op == "test":
        assert parent[last] == operation["value"], path
    else:
        raise NotImplementedError(f"JSON patch op {op}")


@functools.cache
def kubectl() -> str | None:
    path = shutil.which("kubectl")
    if path is None:
        return None
    probe = subprocess.run([path, "kustomize", "--help"], capture_output=True, timeout=60)
    return path if probe.returncode == 0 else None


def render_with_kubectl(build: str) -> list[dict]:
    result = subprocess.run([kubectl(), "kustomize", str(K8S / build)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"kubectl kustomize {build}:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@functools.cache
def _rendered(build: str) -> tuple[dict, ...]:
    docs = render_with_kubectl(build) if kubectl() else Kustomization(K8S / build).build()
    return tuple(docs)


def rendered(build: str) -> list[dict]:
    return copy.deepcopy(list(_rendered(build)))


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict | None, labels: dict) -> bool:
    """Kubernetes label-selector semantics (an empty selector selects everything)."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, op, values = expression["key"], expression["operator"], expression.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def container_env(workload: dict, configmaps: dict[str, dict]) -> dict[str, dict]:
    """Every variable the main container sees: name -> its env entry (or {"value": ...})."""
    container = pod_spec(workload)["containers"][0]
    env: dict[str, dict] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, "envFrom only from ConfigMaps; Secrets are referenced key by key"
        for key, value in configmaps[source["configMapRef"]["name"]]["data"].items():
            env[key] = {"value": value}
    for entry in container.get("env", []):
        env[entry["name"]] = entry
    return env


def workloads(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["kind"] in WORKLOAD_KINDS]


def max_replicas(docs: list[dict], deployment: dict) -> int:
    hpas = [h for h in of_kind(docs, "HorizontalPodAutoscaler").values()
            if h["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]]
    return hpas[0]["spec"]["maxReplicas"] if hpas else deployment["spec"].get("replicas", 1)


def min_replicas(docs: list[dict], deployment: dict) -> int:
    hpas = [h for h in of_kind(docs, "HorizontalPodAutoscaler").values()
            if h["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]]
    return hpas[0]["spec"].get("minReplicas", 1) if hpas else deployment["spec"].get("replicas", 1)


# --------------------------------------------------------------------------------------------
# Rendering and schema validation
# --------------------------------------------------------------------------------------------

def test_pinned_kubernetes_version_is_bundled():
    assert KUBERNETES_VERSION in all_versions(), (
        f"kubernetes-validate {kubernetes_validate.__version__} has no schemas for {KUBERNETES_VERSION}")


@pytest.mark.skipif(kubectl() is None, reason="kubectl not installed: the renderer is the only one")
@pytest.mark.parametrize("build", BUILDS)
def test_fallback_renderer_agrees_with_kubectl(build):
    by_id = lambda docs: {resource_id(d): d for d in docs}  # noqa: E731
    ours, theirs = by_id(Kustomization(K8S / build).build()), by_id(render_with_kubectl(build))
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        assert ours[key] == theirs[key], key


@pytest.mark.parametrize("build", BUILDS)
def test_every_resource_validates(build):
    failures = []
    for doc in rendered(build):
        if doc["kind"] in CUSTOM_KINDS.get(doc["apiVersion"], ()):
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {error.message}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("build", BUILDS)
def test_everything_lives_in_the_namespace(build):
    docs = rendered(build)
    namespaces = of_kind(docs, "Namespace")
    assert list(namespaces) == ["youfu"]
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "youfu", resource_id(doc)


# --------------------------------------------------------------------------------------------
# Processes: Deployment, Service, migration Job, probes, resources, security
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("build", BUILDS)
def test_every_process_has_a_deployment_service_and_migration_job(build):
    docs = rendered(build)
    deployments, services, jobs = of_kind(docs, "Deployment"), of_kind(docs, "Service"), of_kind(docs, "Job")
    assert set(deployments) == {f"youfu-{p}" for p in PROCESSES}
    assert set(jobs) == {f"youfu-migrate-{p}" for p in PROCESSES}
    images = set()
    for process in PROCESSES:
        deployment = deployments[f"youfu-{process}"]
        container = pod_spec(deployment)["containers"][0]
        assert container["args"] == ["serve", process]
        assert [p["containerPort"] for p in container["ports"]] == [DEFAULT_PORTS[process]]
        service = services[f"youfu-{process}"]
        assert selects({"matchLabels": service["spec"]["selector"]}, pod_labels(deployment))
        assert [p["port"] for p in service["spec"]["ports"]] == [DEFAULT_PORTS[process]]
        job = jobs[f"youfu-migrate-{process}"]
        assert pod_spec(job)["containers"][0]["args"] == ["migrate", process]
        assert pod_spec(job)["restartPolicy"] == "Never"
        assert not selects({"matchLabels": service["spec"]["selector"]}, pod_labels(job)), \
            "a migration pod must never receive traffic"
        images |= {c["image"] for w in (deployment, job) for c in pod_spec(w)["containers"]}
    assert len(images) == 1, f"one image for every process, found {images}"


@pytest.mark.parametrize("build", BUILDS)
def test_deployments_have_probes_on_health_and_ready(build):
    for name, deployment in of_kind(rendered(build), "Deployment").items():
        container = pod_spec(deployment)["containers"][0]
        port_names = {p["name"] for p in container["ports"]} | {p["containerPort"] for p in container["ports"]}
        for probe, path in (("readinessProbe", "/ready"), ("livenessProbe", "/health")):
            assert probe in container, f"{name}: no {probe}"
            assert container[probe]["httpGet"]["path"] == path, f"{name}: {probe}"
            assert container[probe]["httpGet"]["port"] in port_names, f"{name}: {probe} port"


@pytest.mark.parametrize("build", BUILDS)
def test_pods_have_requests_limits_and_a_locked_down_security_context(build):
    for workload in workloads(rendered(build)):
        name = f"{workload['kind']}/{workload['metadata']['name']}"
        spec = pod_spec(workload)
        pod_security = spec.get("securityContext", {})
        assert spec.get("automountServiceAccountToken") is False, name
        # A Service named youfu-orders would inject YOUFU_ORDERS_PORT=tcp://..., which the
        # settings read as the port to listen on.
        assert spec.get("enableServiceLinks") is False, name
        assert pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
        for container in spec["containers"] + spec.get("initContainers", []):
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{name}: {bound}"
            security = container.get("securityContext", {})
            run_as_non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
            assert run_as_non_root is True, f"{name}: runAsNonRoot"
            assert security.get("runAsUser", pod_security.get("runAsUser", 1)) != 0, name
            assert security.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem"
            assert security.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation"
            assert security.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: capabilities"
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{name}: a read-only root needs a writable /tmp"


def test_the_image_user_is_the_pod_user():
    user = dockerfile_stages()[-1].user
    for workload in workloads(rendered("base")):
        assert str(pod_spec(workload)["securityContext"]["runAsUser"]) == user.split(":")[0]


# --------------------------------------------------------------------------------------------
# Settings: only what the code reads; keys and passwords only by Secret reference
# --------------------------------------------------------------------------------------------

def settings_env_names(monkeypatch) -> set[str]:
    names = {f"YOUFU_{field.upper()}" for field in Settings.model_fields}
    # the blob store's settings (shared/storage.py) and the orders service's own (its settings.py)
    names |= {f"YOUFU_STORAGE_{field.upper()}" for field in StorageSettings.model_fields}
    names |= {f"YOUFU_ORDERS_{field.upper()}" for field in OrdersSettings.model_fields}
    # Names read by Settings methods: proven by setting each one and reading it back.
    for process in PROCESSES:
        monkeypatch.setenv(f"YOUFU_{process.upper()}_DATABASE_URL", f"postgresql+asyncpg://probe/{process}")
        monkeypatch.setenv(f"YOUFU_{process.upper()}_PORT", "1234")
        monkeypatch.setenv(f"YOUFU_{process.upper()}_URL", f"http://probe-{process}")
        settings = Settings()
        if settings.database_url(process) == f"postgresql+asyncpg://probe/{process}":
            names.add(f"YOUFU_{process.upper()}_DATABASE_URL")
        if settings.port(process) == 1234:
            names.add(f"YOUFU_{process.upper()}_PORT")
        if process in SERVICES and settings.service_url(process) == f"http://probe-{process}":
            names.add(f"YOUFU_{process.upper()}_URL")
    return names


def test_library_variables_are_read_by_their_library():
    import importlib

    for name, module in LIBRARY_ENV.items():
        assert name in inspect.getsource(importlib.import_module(module)), f"{module} does not read {name}"


@pytest.mark.parametrize("build", BUILDS)
def test_every_variable_set_is_a_setting_the_code_reads(build, monkeypatch):
    allowed = settings_env_names(monkeypatch) | set(LIBRARY_ENV)
    docs = rendered(build)
    configmaps = of_kind(docs, "ConfigMap")
    for workload in workloads(docs):
        unknown = set(container_env(workload, configmaps)) - allowed
        assert not unknown, f"{workload['metadata']['name']} sets variables nothing reads: {sorted(unknown)}"


@pytest.mark.parametrize("build", BUILDS)
def test_keys_and_passwords_come_from_secret_references(build):
    docs = rendered(build)
    for secret in of_kind(docs, "Secret").values():
        assert not secret.get("data") and not secret.get("stringData"), \
            f"Secret {secret['metadata']['name']} holds values; create Secrets out of band"
    configmaps = of_kind(docs, "ConfigMap")
    for configmap in configmaps.values():
        for key, value in configmap["data"].items():
            assert not re.search(r"KEY|TOKEN|PASSWORD|SECRET", key), f"{key} belongs in a Secret"
            if "://" in value:
                assert urlsplit(value).password is None, f"{key} carries a password"
    deployments = of_kind(docs, "Deployment")
    for workload in workloads(docs):
        for name, entry in container_env(workload, configmaps).items():
            if re.search(r"KEY|TOKEN|PASSWORD|SECRET", name):
                assert "secretKeyRef" in entry.get("valueFrom", {}), f"{name} must be a Secret reference"
    env = {p: container_env(deployments[f"youfu-{p}"], configmaps) for p in PROCESSES}
    for process, variables in env.items():
        assert {"YOUFU_JWT_PUBLIC_KEY", "YOUFU_SERVICE_TOKEN", "PGPASSWORD"} <= set(variables), process
        assert ("YOUFU_JWT_PRIVATE_KEY" in variables) == (process == "gateway"), \
            f"{process}: only the gateway holds the signing key"
        assert ("YOUFU_PII_KEY" in variables) == (process in {"gateway", "assessment"}), process
        assert variables["YOUFU_SERVICE_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == process


def test_every_referenced_secret_is_documented():
    readme = (K8S / "README.md").read_text()
    referenced = set()
    for build in BUILDS:
        docs = rendered(build)
        for workload in workloads(docs):
            for container in pod_spec(workload)["containers"]:
                for entry in container.get("env", []):
                    if "secretKeyRef" in entry.get("valueFrom", {}):
                        referenced.add(entry["valueFrom"]["secretKeyRef"]["name"])
        for ingress in of_kind(docs, "Ingress").values():
            referenced |= {t["secretName"] for t in ingress["spec"].get("tls", [])}
        for cluster in of_kind(docs, "Cluster").values():
            referenced |= {r["passwordSecret"]["name"] for r in cluster["spec"]["managed"]["roles"]}
    missing = {name for name in referenced if name not in readme}
    assert not missing, f"deploy/k8s/README.md does not say how to create {sorted(missing)}"


@pytest.mark.parametrize("build", BUILDS)
def test_service_urls_point_at_the_services(build):
    docs = rendered(build)
    data = of_kind(docs, "ConfigMap")["youfu-settings"]["data"]
    services = of_kind(docs, "Service")
    for service in SERVICES:
        url = urlsplit(data[f"YOUFU_{service.upper()}_URL"])
        assert url.scheme == "http"
        assert url.hostname in services, url.hostname
        assert url.port in {p["port"] for p in services[url.hostname]["spec"]["ports"]}


# --------------------------------------------------------------------------------------------
# Kafka (Strimzi) and PostgreSQL (CloudNativePG)
# --------------------------------------------------------------------------------------------

def the_one(docs: list[dict], kind: str) -> dict:
    found = list(of_kind(docs, kind).values())
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("build", BUILDS)
def test_kafka_cluster_runs_kraft_with_the_topics_the_code_uses(build):
    docs = rendered(build)
    kafka, pool = the_one(docs, "Kafka"), the_one(docs, "KafkaNodePool")
    cluster = kafka["metadata"]["name"]
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == cluster
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    brokers = pool["spec"]["replicas"]
    assert pool["spec"]["storage"]["type"] in {"jbod", "persistent-claim"}
    assert "topicOperator" in kafka["spec"]["entityOperator"]
    assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False

    listeners = {listener["name"]: listener for listener in kafka["spec"]["kafka"]["listeners"]}
    bootstrap = of_kind(docs, "ConfigMap")["youfu-settings"]["data"]["YOUFU_KAFKA_BOOTSTRAP"]
    host, _, port = bootstrap.rpartition(":")
    assert host == f"{cluster}-kafka-bootstrap"
    listener = next(item for item in listeners.values() if item["port"] == int(port))
    assert listener["type"] == "internal" and listener["tls"] is False

    topics = of_kind(docs, "KafkaTopic")
    assert sorted(t["spec"]["topicName"] for t in topics.values()) == sorted(TOPICS.values())
    config = kafka["spec"]["kafka"]["config"]
    for topic in topics.values():
        spec = topic["spec"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == cluster
        assert spec["partitions"] >= 1 and 1 <= spec["replicas"] <= brokers
        assert spec["config"]["min.insync.replicas"] == max(1, spec["replicas"] - 1)
    assert config["min.insync.replicas"] == max(1, config["default.replication.factor"] - 1)
    if build != "overlays/dev":
        assert brokers == 3
        for topic in topics.values():
            assert (topic["spec"]["replicas"], topic["spec"]["config"]["min.insync.replicas"]) == (3, 2)


@pytest.mark.parametrize("build", BUILDS)
def test_no_consumer_replica_is_idle(build):
    """A consumer group uses at most one member per partition: no process may scale past it."""
    docs = rendered(build)
    partitions = min(t["spec"]["partitions"] for t in of_kind(docs, "KafkaTopic").values())
    for name, deployment in of_kind(docs, "Deployment").items():
        assert max_replicas(docs, deployment) <= partitions, name


@pytest.mark.parametrize("build", BUILDS)
def test_postgres_has_one_database_and_role_per_process(build):
    docs = rendered(build)
    cluster = the_one(docs, "Cluster")
    assert cluster["spec"]["instances"] >= 1 and cluster["spec"]["storage"]["size"]
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d for d in of_kind(docs, "Database").values()}
    configmaps = of_kind(docs, "ConfigMap")
    deployments, jobs = of_kind(docs, "Deployment"), of_kind(docs, "Job")
    owners = set()
    for process in PROCESSES:
        url = urlsplit(configmaps["youfu-settings"]["data"][f"YOUFU_{process.upper()}_DATABASE_URL"])
        assert url.scheme == "postgresql+asyncpg"
        assert url.hostname == f"{cluster['metadata']['name']}-rw"
        database = databases[url.path.lstrip("/")]
        assert database["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
        assert database["spec"]["owner"] == url.username
        owners.add(url.username)
        role = roles[url.username]
        assert role["ensure"] == "present" and role["login"] is True
        for workload in (deployments[f"youfu-{process}"], jobs[f"youfu-migrate-{process}"]):
            password = container_env(workload, configmaps)["PGPASSWORD"]["valueFrom"]["secretKeyRef"]
            assert password == {"name": role["passwordSecret"]["name"], "key": "password"}, process
    assert len(owners) == len(PROCESSES), "each process owns its own database"


def pool_per_replica() -> int:
    """Connections one process can open: its SQLAlchemy pool plus overflow (shared/db.py)."""
    database = Database("postgresql+asyncpg://probe@localhost/probe")
    pool = database.engine.sync_engine.pool
    return pool.size() + pool._max_overflow


@pytest.mark.parametrize("build", BUILDS)
def test_connection_budget_fits_max_connections(build):
    """Every replica at its autoscaler maximum plus one rolling-update surge, each with a full
    pool, plus one connection per migration Job and a reserve for the operator and superuser."""
    docs = rendered(build)
    per_replica = pool_per_replica()
    demand = 0
    for deployment in of_kind(docs, "Deployment").values():
        surge = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        assert isinstance(surge, int), "an absolute surge keeps the budget computable"
        demand += (max_replicas(docs, deployment) + surge) * per_replica
    demand += len(of_kind(docs, "Job")) + 20
    max_connections = int(the_one(docs, "Cluster")["spec"]["postgresql"]["parameters"]["max_connections"])
    assert demand <= max_connections, f"{build}: up to {demand} connections, max_connections {max_connections}"


# --------------------------------------------------------------------------------------------
# Network paths
# --------------------------------------------------------------------------------------------

def allowed_from(policies: list[dict], target: dict, source: dict | None, namespace: str | None) -> bool:
    """Whether a pod labelled `target` admits traffic from a pod labelled `source` in this
    namespace (namespace None) or from any pod in another `namespace` (source None)."""
    applying = [p for p in policies if selects(p["spec"]["podSelector"], target)
                and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]
    assert applying, f"no NetworkPolicy isolates pods labelled {target}"
    for policy in applying:
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", [{}]):
                if "ipBlock" in peer:
                    continue
                if namespace is None and "namespaceSelector" not in peer and selects(peer.get("podSelector"), source):
                    return True
                if namespace is not None and "namespaceSelector" in peer and "podSelector" not in peer \
                        and selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": namespace}):
                    return True
    return False


@pytest.mark.parametrize("build", BUILDS)
def test_network_policies(build):
    docs = rendered(build)
    policies = list(of_kind(docs, "NetworkPolicy").values())
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")]
    assert deny and "Ingress" in deny[0]["spec"]["policyTypes"], "no default-deny ingress policy"

    deployments = of_kind(docs, "Deployment")
    gateway = pod_labels(deployments["youfu-gateway"])
    services = [pod_labels(deployments[f"youfu-{s}"]) for s in SERVICES]
    migration = pod_labels(of_kind(docs, "Job")["youfu-migrate-orders"])

    # The gateway: from the ingress controller only, never from inside the namespace.
    assert allowed_from(policies, gateway, None, "ingress-nginx")
    for source in [gateway, migration, *services]:
        assert not allowed_from(policies, gateway, source, None)
    # Services: from the gateway and each other; not from migration Jobs, not from outside
    # (the monitoring namespace may scrape /metrics).
    for target in services:
        assert allowed_from(policies, target, gateway, None)
        for source in services:
            assert allowed_from(policies, target, source, None)
        assert not allowed_from(policies, target, migration, None)
        assert not allowed_from(policies, target, None, "ingress-nginx")
    # PostgreSQL: from the processes and their migrations only.
    postgres = {"cnpg.io/cluster": the_one(docs, "Cluster")["metadata"]["name"]}
    for source in [gateway, migration, *services]:
        assert allowed_from(policies, postgres, source, None)
    assert not allowed_from(policies, postgres, {"app": "elsewhere"}, None)
    assert not allowed_from(policies, postgres, None, "ingress-nginx")
    # Kafka: Strimzi generates the policy from the listener's peers.
    kafka = the_one(docs, "Kafka")
    listener = next(item for item in kafka["spec"]["kafka"]["listeners"] if item["port"] == 9092)
    peers = listener["networkPolicyPeers"]
    for source in [gateway, *services]:
        assert any(selects(p.get("podSelector"), source) for p in peers)
    assert not any(selects(p.get("podSelector"), migration) for p in peers)
    assert not any(selects(p.get("podSelector"), {"app": "elsewhere"}) for p in peers)


@pytest.mark.parametrize("build", BUILDS)
def test_ingress_reaches_only_the_gateway(build):
    docs = rendered(build)
    backends = {path["backend"]["service"]["name"]
                for ingress in of_kind(docs, "Ingress").values()
                for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}
    assert backends == {"youfu-gateway"}


# --------------------------------------------------------------------------------------------
# Autoscalers, disruption budgets, overlays
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("build", BUILDS)
def test_autoscalers_for_gateway_and_orders(build):
    docs = rendered(build)
    deployments = of_kind(docs, "Deployment")
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()}
    assert targets == {"youfu-gateway", "youfu-orders"}
    for hpa in hpas.values():
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment" and ref["name"] in deployments
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert "replicas" not in deployments[ref["name"]]["spec"], \
            f"{ref['name']}: the autoscaler owns replicas; a fixed count would fight it on every apply"


@pytest.mark.parametrize("build", BUILDS)
def test_every_deployment_has_a_disruption_budget_that_lets_nodes_drain(build):
    docs = rendered(build)
    budgets = list(of_kind(docs, "PodDisruptionBudget").values())
    for name, deployment in of_kind(docs, "Deployment").items():
        covering = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(deployment))]
        assert len(covering) == 1, f"{name}: {len(covering)} PodDisruptionBudgets"
        spec = covering[0]["spec"]
        if "minAvailable" in spec:
            assert spec["minAvailable"] < min_replicas(docs, deployment), name
        else:
            assert spec["maxUnavailable"] >= 1, name


def test_dev_runs_one_of_each():
    docs = rendered("overlays/dev")
    for name, deployment in of_kind(docs, "Deployment").items():
        assert min_replicas(docs, deployment) == 1, name
    assert the_one(docs, "KafkaNodePool")["spec"]["replicas"] == 1
    assert the_one(docs, "Cluster")["spec"]["instances"] == 1


def test_prod_runs_replicas_apart():
    docs = rendered("overlays/prod")
    for name, deployment in of_kind(docs, "Deployment").items():
        assert min_replicas(docs, deployment) >= 3, name
        spec = pod_spec(deployment)
        term = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
        assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
        assert selects(term["podAffinityTerm"]["labelSelector"], pod_labels(deployment))
        assert "app.kubernetes.io/name" in term["podAffinityTerm"]["matchLabelKeys"]
        zones = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
        assert "topology.kubernetes.io/zone" in zones, name
    assert the_one(docs, "KafkaNodePool")["spec"]["replicas"] == 3
    assert the_one(docs, "Cluster")["spec"]["instances"] >= 3


@pytest.mark.parametrize("build", OVERLAYS)
def test_overlays_pin_the_image_tag(build):
    for workload in workloads(rendered(build)):
        for container in pod_spec(workload)["containers"]:
            tag = image_tag(container["image"])
            assert tag and tag != "latest", f"{workload['metadata']['name']}: {container['image']}"


def test_readme_backs_the_scaling_plan_with_bench_figures():
    readme = (K8S / "README.md").read_text()
    assert "see bench/results" not in readme  # no placeholder left
    for bench in ("matching", "events_relay", "vouchers_batch", "ordering", "settle_latency"):
        assert f"`{bench}`" in readme and (K8S.parents[1] / "bench" / "results" / f"{bench}.json").exists(), bench
    for section in ("## Deploy", "## Secrets", "## Scaling"):
        assert section in readme


# --------------------------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------------------------

class Stage:
    def __init__(self, base: str, name: str | None) -> None:
        self.base, self.name = base, name
        self.instructions: list[tuple[str, str]] = []

    @property
    def user(self) -> str:
        users = [arg for op, arg in self.instructions if op == "USER"]
        return users[-1] if users else "root"

    def args(self, op: str) -> list[str]:
        return [arg for o, arg in self.instructions if o == op]


def dockerfile_stages() -> list[Stage]:
    text = (ROOT / "Dockerfile").read_text()
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in logical:
        op, _, rest = instruction.partition(" ")
        op, rest = op.upper(), rest.strip()
        if op == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
            continue
        if op == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
            continue
        stages[-1].instructions.append((op, rest))
    return stages


def test_dockerfile_is_multi_stage_with_a_slim_non_root_final_stage():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    builder, final = stages[0], stages[-1]
    installs = " ".join(builder.args("RUN"))
    assert "venv" in installs
    assert re.search(r"pip install (.* )?(-c|--constraint) constraints\.txt", installs), installs

    assert final.base == "python:3.11-slim"
    user = final.user.split(":")[0]
    assert user.isdigit() and int(user) != 0, "USER must be numeric and not root for runAsNonRoot"
    copies = final.args("COPY")
    assert copies and all(c.startswith(f"--from={builder.name}") for c in copies), \
        "the final stage takes only the venv (app included) from the builder"
    final_text = " ".join(arg for _, arg in final.instructions).lower()
    for tool in ("gcc", "build-essential", "g++", "make ", "apt-get install", "pip install"):
        assert tool not in final_text, f"{tool!r} in the final stage"
    entrypoint = final.args("ENTRYPOINT")
    assert entrypoint and "youfu" in entrypoint[-1]


def test_dockerignore_admits_exactly_what_the_build_copies():
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*", "allow-list: exclude everything, then admit what the build copies"
    admitted = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    sources = set()
    for stage in dockerfile_stages():
        for copy_args in stage.args("COPY"):
            if copy_args.startswith("--from"):
                continue
            words = shlex.split(copy_args)
            sources |= {w.rstrip("/") for w in words[:-1] if not w.startswith("--")}
    assert sources == admitted
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"


def test_dockerfile_installs_every_package_the_distribution_declares():
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {s.rstrip("/") for stage in dockerfile_stages() for c in stage.args("COPY")
              if not c.startswith("--from") for s in shlex.split(c)[:-1]}
    assert packages <= copied, f"packages not copied into the build: {sorted(packages - copied)}"
    assert pyproject["project"]["readme"] in copied
