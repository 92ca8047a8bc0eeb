"""The deployment manifests agree with the code.

docker-compose.yml, the Dockerfile and the Kubernetes manifests under deploy/k8s name settings,
modules, routes and topics that the code defines; these tests read both sides and compare, so a
renamed setting, a new setting without a manifest entry, a moved probe route or a new topic
fails here rather than in a cluster. Nothing is started: the FastAPI apps are built, not run.
"""

import importlib
import importlib.util
import os
import re
import typing
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from pydantic.fields import FieldInfo
from starlette.routing import Match
from tandem_chassis.kafka import MAX_DEAD_LETTER_BYTES, MAX_MESSAGE_BYTES
from tandem_chassis.services import SERVICE_PORTS
from tandem_chassis.settings import ServiceSettings
from tandem_contracts.topics import ALL_TOPICS, dlq

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
LOCAL_BROKER = ROOT / "deploy" / "local" / "kafka" / "server.properties"
DOCKERFILE = ROOT / "Dockerfile"
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "example"
SERVICES = ("profiles", "matching", "notifications", "relationships")
PARTITIONS = 6
BASE_REPLICATION = 3

Manifest = dict[str, Any]


# --- the code's side -------------------------------------------------------------------------


def settings_class(service: str) -> type[ServiceSettings]:
    settings: type[ServiceSettings] = importlib.import_module(f"tandem_{service}.config").Settings
    return settings


def env_name(cls: type[ServiceSettings], field_name: str, field: FieldInfo) -> str:
    """The environment variable pydantic-settings reads for a field (case-insensitive)."""
    alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
    if alias:
        return alias.upper()
    return f"{cls.model_config.get('env_prefix', '')}{field_name}".upper()


def settings_env(cls: type[ServiceSettings]) -> dict[str, FieldInfo]:
    return {env_name(cls, name, field): field for name, field in cls.model_fields.items()}


def is_secret(field: FieldInfo) -> bool:
    def mentions_secret(annotation: object) -> bool:
        if annotation is SecretStr:
            return True
        return any(mentions_secret(arg) for arg in typing.get_args(annotation))

    return mentions_secret(field.annotation)


def secret_env(cls: type[ServiceSettings]) -> set[str]:
    return {name for name, field in settings_env(cls).items() if is_secret(field)}


def tandem_names(names: Iterable[object]) -> set[str]:
    return {str(name).upper() for name in names if str(name).upper().startswith("TANDEM_")}


@cache
def built_app(service: str) -> Any:
    bootstrap = importlib.import_module(f"tandem_{service}.bootstrap")
    return bootstrap.build_app(settings_class(service)())


def serves_get(app: Any, path: str) -> bool:
    # Matching a request scope against app.routes, as the app itself does: FastAPI >= 0.165
    # keeps included routers as nested route objects, so reading `.path` alone misses them.
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] is Match.FULL for route in app.routes)


# --- the manifests' side ---------------------------------------------------------------------


def load_documents(path: Path) -> list[Manifest]:
    with path.open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]


def k8s_files() -> list[Path]:
    return sorted([*K8S.rglob("*.yaml"), *K8S.rglob("*.yml")])


def kustomization(folder: Path) -> Manifest:
    (document,) = load_documents(folder / "kustomization.yaml")
    return document


def base_resources() -> list[Manifest]:
    """The documents the base kustomization lists (every listed file must exist)."""
    documents = []
    for entry in kustomization(BASE)["resources"]:
        path = BASE / entry
        assert path.is_file(), f"base kustomization lists {entry}, which is not a file"
        documents += load_documents(path)
    return documents


def of_kind(documents: list[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in documents if doc.get("kind") == kind]


def named(documents: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [doc for doc in of_kind(documents, kind) if doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def deployment_of(service: str) -> Manifest:
    return named(base_resources(), "Deployment", f"tandem-{service}")


def container_of(deployment: Manifest, service: str) -> Manifest:
    containers: list[Manifest] = deployment["spec"]["template"]["spec"]["containers"]
    runs_service = [c for c in containers if f"tandem_{service}" in " ".join(c.get("command", []))]
    assert len(runs_service) == 1, f"{deployment['metadata']['name']} must run tandem_{service} once"
    return runs_service[0]


def config_maps() -> dict[str, set[str]]:
    """ConfigMap name -> TANDEM_* keys, over the base and every overlay patch."""
    keys: dict[str, set[str]] = {}
    for path in k8s_files():
        for doc in of_kind(load_documents(path), "ConfigMap"):
            keys.setdefault(doc["metadata"]["name"], set()).update(tandem_names(doc.get("data") or {}))
    return keys


def base_config_map_values() -> dict[str, dict[str, str]]:
    return {doc["metadata"]["name"]: doc.get("data") or {} for doc in of_kind(base_resources(), "ConfigMap")}


def env_from_config_maps(container: Manifest) -> list[str]:
    return [ref["configMapRef"]["name"] for ref in container.get("envFrom", []) if "configMapRef" in ref]


def provided_env(container: Manifest) -> dict[str, str]:
    """Every TANDEM_* variable the container gets -> how: 'configmap', 'secret' or 'value'."""
    provided = {}
    base_maps = base_config_map_values()
    for name in env_from_config_maps(container):
        provided.update(dict.fromkeys(tandem_names(base_maps.get(name, {})), "configmap"))
    for entry in container.get("env", []):
        source = entry.get("valueFrom", {})
        how = (
            "secret" if "secretKeyRef" in source else "configmap" if "configMapKeyRef" in source else "value"
        )
        provided[entry["name"].upper()] = how
    return {name: how for name, how in provided.items() if name.startswith("TANDEM_")}


def compose() -> Manifest:
    (document,) = load_documents(COMPOSE)
    return document


def compose_environment(service: Manifest) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {str(key): str(value) for key, value in environment.items()}


def command_modules(text: str) -> Iterator[str]:
    """Modules run as ``python -m <module>``, in shell or exec (JSON/YAML list) form."""
    yield from re.findall(r"""(?<![\w-])-m["']?\s*,?\s*["']?([A-Za-z_][\w.]*)""", text)


# --- (a) docker compose ----------------------------------------------------------------------


def test_compose_runs_the_three_services_with_kafka_and_mongo() -> None:
    services = compose()["services"]

    assert {*SERVICES, "kafka", "mongo"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka")
    assert services["mongo"]["image"].startswith("mongo:7")
    for service in SERVICES:
        assert f"tandem_{service}" in " ".join(services[service]["command"])


def test_every_tandem_variable_compose_sets_is_a_setting_of_that_service() -> None:
    for name, service in compose()["services"].items():
        cls = settings_class(name) if name in SERVICES else ServiceSettings
        unknown = tandem_names(compose_environment(service)) - set(settings_env(cls))
        assert not unknown, f"compose service {name} sets {sorted(unknown)}, unknown to {cls.__module__}"


def test_compose_services_listen_on_all_interfaces_on_their_published_port() -> None:
    services = compose()["services"]
    for service in SERVICES:
        environment = compose_environment(services[service])
        port = environment.get(
            "TANDEM_HTTP_PORT", str(settings_class(service).model_fields["http_port"].default)
        )

        assert environment["TANDEM_HTTP_HOST"] == "0.0.0.0"
        assert any(str(mapping).endswith(f":{port}") for mapping in services[service]["ports"])
        assert f":{port}/health/ready" in " ".join(services[service]["healthcheck"]["test"])


def test_compose_starts_services_only_after_healthy_kafka_and_mongo_and_created_topics() -> None:
    services = compose()["services"]
    one_shot_steps = {name for name, service in services.items() if service.get("restart") == "no"}
    for service in SERVICES:
        depends_on = services[service]["depends_on"]

        assert depends_on["kafka"]["condition"] == "service_healthy"
        assert depends_on["mongo"]["condition"] == "service_healthy"
        assert any(
            depends_on.get(step, {}).get("condition") == "service_completed_successfully"
            for step in one_shot_steps
        ), f"{service} does not wait for the topic-creation step"


def test_compose_mongo_is_a_replica_set_that_its_healthcheck_initiates() -> None:
    mongo = compose()["services"]["mongo"]

    assert "--replSet" in mongo["command"]
    assert "rs.initiate" in " ".join(mongo["healthcheck"]["test"])
    for service in SERVICES:
        assert "replicaSet=" in compose_environment(compose()["services"][service])["TANDEM_MONGODB_URI"]


# --- (b) Kubernetes settings -----------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_every_tandem_variable_a_deployment_sets_is_a_setting_of_its_service(service: str) -> None:
    known = set(settings_env(settings_class(service)))
    for path in k8s_files():  # the base and the overlays' patches
        for doc in of_kind(load_documents(path), "Deployment"):
            if doc["metadata"]["name"] != f"tandem-{service}":
                continue
            for container in doc["spec"]["template"]["spec"].get("containers", []):
                unknown = tandem_names(entry["name"] for entry in container.get("env", [])) - known
                assert not unknown, f"{path.relative_to(ROOT)} sets {sorted(unknown)} on {service}"


def test_every_tandem_key_of_a_config_map_is_a_setting_of_each_service_that_reads_it() -> None:
    readers: dict[str, list[str]] = {}
    for service in SERVICES:
        for name in env_from_config_maps(container_of(deployment_of(service), service)):
            readers.setdefault(name, []).append(service)
        for entry in container_of(deployment_of(service), service).get("env", []):
            ref = entry.get("valueFrom", {}).get("configMapKeyRef")
            if ref:
                readers.setdefault(ref["name"], []).append(service)

    for config_map, keys in config_maps().items():
        assert config_map in readers, f"ConfigMap {config_map} is read by no service"
        for service in readers[config_map]:
            unknown = keys - set(settings_env(settings_class(service)))
            assert not unknown, f"ConfigMap {config_map} has {sorted(unknown)}, unknown to {service}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_of_a_service_is_provided_by_its_deployment(service: str) -> None:
    provided = provided_env(container_of(deployment_of(service), service))

    missing = set(settings_env(settings_class(service))) - set(provided)

    assert not missing, (
        f"{service} settings without a manifest entry: {sorted(missing)}; add each to a ConfigMap "
        "(or, for SecretStr fields, a secretKeyRef) in deploy/k8s/base"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_secret_settings_come_only_from_secrets(service: str) -> None:
    secrets = secret_env(settings_class(service))
    provided = provided_env(container_of(deployment_of(service), service))

    assert {name: provided.get(name) for name in secrets} == dict.fromkeys(secrets, "secret")
    for config_map, keys in config_maps().items():
        assert not keys & secrets, f"ConfigMap {config_map} holds secrets {sorted(keys & secrets)}"


@pytest.mark.parametrize("service", SERVICES)
def test_key_references_name_the_key_of_their_variable_and_required_config_keys_exist(
    service: str,
) -> None:
    base_maps = base_config_map_values()
    for entry in container_of(deployment_of(service), service).get("env", []):
        source = entry.get("valueFrom", {})
        ref = source.get("configMapKeyRef") or source.get("secretKeyRef")
        if ref is None:
            continue
        assert ref["key"] == entry["name"], f"{entry['name']} reads key {ref['key']}"
        if "configMapKeyRef" in source and not ref.get("optional", False):
            assert ref["key"] in base_maps.get(ref["name"], {}), f"{ref['name']} lacks {ref['key']}"


@pytest.mark.parametrize("service", SERVICES)
def test_base_config_values_are_valid_settings(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    container = container_of(deployment_of(service), service)
    base_maps = base_config_map_values()
    for name in [key for key in os.environ if key.upper().startswith("TANDEM_")]:
        monkeypatch.delenv(name)
    for config_map in env_from_config_maps(container):
        for key, value in base_maps[config_map].items():
            monkeypatch.setenv(key, str(value))

    settings = settings_class(service)()

    assert settings.service_name == service
    assert settings.http_host == "0.0.0.0"


# --- (c) probes and ports --------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_probe_paths_are_routes_of_the_built_app(service: str) -> None:
    container = container_of(deployment_of(service), service)
    probes = {
        kind: container[kind]
        for kind in ("livenessProbe", "readinessProbe", "startupProbe")
        if kind in container
    }

    assert probes["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for kind, probe in probes.items():
        assert serves_get(built_app(service), probe["httpGet"]["path"]), (
            f"{service} {kind} path is not a route"
        )


@pytest.mark.parametrize("service", SERVICES)
def test_probe_and_service_ports_are_the_container_port_the_service_listens_on(
    service: str,
) -> None:
    container = container_of(deployment_of(service), service)
    ports = {port.get("name"): port["containerPort"] for port in container["ports"]}
    config = {}
    for name in env_from_config_maps(container):
        config.update(base_config_map_values()[name])

    def resolve(port: int | str) -> int:
        return ports[port] if isinstance(port, str) else port

    listens_on = int(
        config.get("TANDEM_HTTP_PORT", settings_class(service).model_fields["http_port"].default)
    )
    assert listens_on in ports.values()
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        if kind in container:
            assert resolve(container[kind]["httpGet"]["port"]) == listens_on, f"{service} {kind} port"
    (k8s_service,) = [
        s for s in of_kind(base_resources(), "Service") if s["metadata"]["name"] == f"tandem-{service}"
    ]
    for port in k8s_service["spec"]["ports"]:
        assert resolve(port["targetPort"]) == listens_on


@pytest.mark.parametrize("service", SERVICES)
def test_every_manifest_puts_a_service_on_its_port_in_the_one_table(service: str) -> None:
    """Ports are written out in YAML and the Dockerfile; ``tandem_chassis.services`` is the truth."""
    port = SERVICE_PORTS[service]
    in_compose = compose()["services"][service]
    deployment = deployment_of(service)
    container = container_of(deployment, service)
    config: dict[str, str] = {}
    for name in env_from_config_maps(container):
        config.update(base_config_map_values()[name])
    (k8s_service,) = [
        s for s in of_kind(base_resources(), "Service") if s["metadata"]["name"] == f"tandem-{service}"
    ]
    exposed = {
        port
        for low, high in re.findall(r"^EXPOSE\s+(\d+)(?:-(\d+))?", DOCKERFILE.read_text(), flags=re.MULTILINE)
        for port in range(int(low), int(high or low) + 1)
    }

    assert settings_class(service).model_fields["http_port"].default == port
    assert compose_environment(in_compose).get("TANDEM_HTTP_PORT", str(port)) == str(port)
    assert f"{port}:{port}" in [str(mapping) for mapping in in_compose["ports"]]
    assert int(config.get("TANDEM_HTTP_PORT", port)) == port
    assert port in {entry["containerPort"] for entry in container["ports"]}
    assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    assert [entry["port"] for entry in k8s_service["spec"]["ports"]] == [port]
    assert port in exposed


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_resources_non_root_security_two_replicas_and_a_pdb(service: str) -> None:
    resources = base_resources()
    deployment = deployment_of(service)
    pod = deployment["spec"]["template"]["spec"]
    container = container_of(deployment, service)
    pdb = named(resources, "PodDisruptionBudget", f"tandem-{service}")

    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert deployment["spec"]["replicas"] == 2
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels(deployment).items()
    assert pdb["spec"]["minAvailable"] == 1, "one of the two replicas may be drained, never both"


def consumed(service: str) -> set[tuple[str, str]]:
    """(consumer group, topic) of every subscriber the service's composition root registers."""
    broker = built_app(service).state.runtime.broker
    return {(sub.group_id, topic) for sub in broker.subscribers for topic in sub.topic_names}


def kafka_triggers(scaled_object: Manifest) -> list[Manifest]:
    return [t["metadata"] for t in scaled_object["spec"]["triggers"] if t["type"] == "kafka"]


@pytest.mark.parametrize("service", SERVICES)
def test_keda_scales_each_service_on_the_lag_of_every_topic_it_consumes(service: str) -> None:
    resources = base_resources()
    deployment = deployment_of(service)
    scaled = named(resources, "ScaledObject", f"tandem-{service}")
    triggers = kafka_triggers(scaled)
    provided = provided_env(container_of(deployment, service))

    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert scaled["spec"]["minReplicaCount"] == deployment["spec"]["replicas"] == 2
    assert {(t["consumerGroup"], t["topic"]) for t in triggers} == consumed(service)
    assert len(triggers) == len(consumed(service))
    for trigger in triggers:
        assert trigger["bootstrapServersFromEnv"] in provided, "KEDA reads it from the container"
        assert int(trigger["lagThreshold"]) > 0
        assert trigger["offsetResetPolicy"] == "earliest", "the services read a new group from the start"
        assert trigger.get("allowIdleConsumers", "false") == "false"
    assert not of_kind(resources, "HorizontalPodAutoscaler"), "KEDA owns the HPA; a second one fights it"


def pod_labels(deployment: Manifest) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


# --- (d) Kafka topics ------------------------------------------------------------------------


def kafka_topics() -> list[Manifest]:
    return of_kind(base_resources(), "KafkaTopic")


def test_every_topic_and_its_dead_letter_twin_has_a_kafka_topic() -> None:
    declared = [topic["spec"].get("topicName", topic["metadata"]["name"]) for topic in kafka_topics()]

    assert sorted(declared) == sorted([*ALL_TOPICS, *(dlq(topic) for topic in ALL_TOPICS)])


def test_base_kafka_topics_have_six_partitions_and_three_replicas_on_strimzi_v1beta2() -> None:
    for topic in kafka_topics():
        assert topic["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert "strimzi.io/cluster" in topic["metadata"]["labels"]
        assert (topic["spec"]["partitions"], topic["spec"]["replicas"]) == (
            PARTITIONS,
            BASE_REPLICATION,
        )


def test_every_topic_states_its_max_message_bytes_and_dead_letters_fit_in_theirs() -> None:
    for topic in kafka_topics():
        name = topic["spec"]["topicName"]
        wanted = MAX_DEAD_LETTER_BYTES if name.endswith(".dlq") else MAX_MESSAGE_BYTES

        assert int(topic["spec"]["config"]["max.message.bytes"]) == wanted, name
    # A record a consumer refuses as too large must still fit its dead-letter topic.
    assert ServiceSettings().consumer_max_event_bytes < MAX_MESSAGE_BYTES < MAX_DEAD_LETTER_BYTES


def test_the_compose_and_local_brokers_state_the_record_size_topics_take() -> None:
    compose_broker = compose_environment(compose()["services"]["kafka"])
    local_broker = dict(
        line.split("=", 1)
        for line in LOCAL_BROKER.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )

    assert int(compose_broker["KAFKA_MESSAGE_MAX_BYTES"]) == MAX_MESSAGE_BYTES
    assert int(local_broker["message.max.bytes"]) == MAX_MESSAGE_BYTES


def test_no_autoscaler_scales_a_consumer_group_past_the_partitions() -> None:
    fewest_partitions = min(topic["spec"]["partitions"] for topic in kafka_topics())
    for path in k8s_files():
        documents = load_documents(path)
        for hpa in of_kind(documents, "HorizontalPodAutoscaler"):
            assert hpa["spec"].get("maxReplicas", 0) <= fewest_partitions, f"{path.relative_to(ROOT)}"
        for scaled in of_kind(documents, "ScaledObject"):
            assert scaled["spec"]["maxReplicaCount"] <= fewest_partitions, f"{path.relative_to(ROOT)}"
    for patch in kustomization(OVERLAY)["patches"]:
        for operation in yaml.safe_load(patch.get("patch", "[]")) or []:
            if isinstance(operation, dict) and operation.get("path", "").endswith(
                ("/replicas", "/minReplicaCount", "/maxReplicaCount")
            ):
                assert operation["value"] <= fewest_partitions, f"overlay patch {operation}"


# --- (e) the overlay -------------------------------------------------------------------------


def base_ids() -> set[tuple[str, str]]:
    return {(doc["kind"], doc["metadata"]["name"]) for doc in base_resources()}


def test_the_example_overlay_builds_on_the_base() -> None:
    resources = kustomization(OVERLAY)["resources"]

    assert any((OVERLAY / entry).resolve() == BASE.resolve() for entry in resources)
    assert (BASE / "kustomization.yaml").is_file()


def test_every_patch_of_the_example_overlay_targets_a_base_resource() -> None:
    patches = kustomization(OVERLAY)["patches"]

    assert patches
    for patch in patches:
        if "path" in patch:
            path = OVERLAY / patch["path"]
            assert path.is_file(), f"patch file {patch['path']} is missing"
            documents = load_documents(path)
        else:
            documents = [doc for doc in yaml.safe_load_all(patch["patch"]) if isinstance(doc, dict)]
        if "target" in patch:
            target = patch["target"]
            matching = {
                (kind, name)
                for kind, name in base_ids()
                if kind == target.get("kind", kind) and re.fullmatch(target.get("name", ".*"), name)
            }
            assert matching, f"patch target {target} matches no base resource"
        else:
            for doc in documents:
                assert (doc["kind"], doc["metadata"]["name"]) in base_ids(), (
                    f"{patch['path']} targets nothing"
                )


def test_the_example_overlay_retags_the_image_the_deployments_use() -> None:
    images = {image["name"] for image in kustomization(OVERLAY).get("images", [])}
    used = {container_of(deployment_of(service), service)["image"].split(":")[0] for service in SERVICES}

    assert images
    assert images <= used


def test_the_example_overlay_generates_every_required_secret_key() -> None:
    generated = {
        secret["name"]: {literal.split("=", 1)[0] for literal in secret.get("literals", [])}
        for secret in kustomization(OVERLAY).get("secretGenerator", [])
    }
    for service in SERVICES:
        for entry in container_of(deployment_of(service), service).get("env", []):
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref and not ref.get("optional", False):
                assert ref["key"] in generated.get(ref["name"], set()), f"{ref['name']}/{ref['key']}"


# --- the image -------------------------------------------------------------------------------


def test_the_service_commands_of_the_image_compose_and_kubernetes_name_existing_modules() -> None:
    sources = {
        "Dockerfile": DOCKERFILE.read_text(),
        "docker-compose.yml": COMPOSE.read_text(),
        **{str(path.relative_to(ROOT)): path.read_text() for path in k8s_files()},
    }
    modules = {module: where for where, text in sources.items() for module in command_modules(text)}

    for name, service in compose()["services"].items():  # one-shot `python -c` steps
        command = service.get("command") or []
        if "-c" in command:
            code = command[command.index("-c") + 1]
            modules |= dict.fromkeys(re.findall(r"from\s+([\w.]+)\s+import", code), f"compose {name}")

    assert {f"tandem_{service}" for service in SERVICES} <= set(modules)
    for module, where in modules.items():
        assert importlib.util.find_spec(module) is not None, f"{where} runs missing module {module}"


def test_the_image_exposes_every_service_port_and_runs_as_non_root() -> None:
    dockerfile = DOCKERFILE.read_text()
    exposed: set[int] = set()
    for low, high in re.findall(r"^EXPOSE\s+(\d+)(?:-(\d+))?", dockerfile, flags=re.MULTILINE):
        exposed |= set(range(int(low), int(high or low) + 1))
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)

    for service in SERVICES:
        assert settings_class(service).model_fields["http_port"].default in exposed
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert "uv sync --frozen --no-dev --all-packages" in dockerfile
