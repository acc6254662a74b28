"""docker-compose.yml, the Apache Kafka path, read as Compose, Kafka and the worker would read it.

Apache Kafka cannot run here (no Docker engine), so this is as far as the path is exercised on
this machine: the workers' environment through the real Settings and start-up checks, the
services' commands through the real CLI parser, the KRaft broker's configuration against what
Kafka refuses or cannot serve with one node, and the topics the worker creates at start (the
broker creates none: auto-create is off) against what Kafka accepts. Each failure says what an
operator running `docker compose up` would meet.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from aiokafka.admin import NewTopic
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

import schemas.contract.topics as contract_topics
from streams.app import create_app, faust_options
from streams.cli import main as cli
from streams.runtime import preflight
from streams.runtime import topics as runtime_topics
from streams.settings import Settings, TablesSettings
from streams.sources.webhook import PATH as WEBHOOK_PATH

ROOT = Path(__file__).parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PREFIX = "CARTWRIGHT_"
# What an operator exports before `docker compose up` (the compose file's header says so).
OPERATOR_ENV = {"CARTWRIGHT_WEB__OPS_TOKEN": "0123456789abcdef0123456789abcdef0123456789abcdef"}
KAFKA_SERVICE = "kafka"
WORKER_SERVICE = "worker"
# Apache Kafka's defaults for the broker configs checked below, where compose leaves them unset.
KAFKA_DEFAULTS = {
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "3",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "3",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "2",
    "KAFKA_DEFAULT_REPLICATION_FACTOR": "1",
    "KAFKA_MIN_INSYNC_REPLICAS": "1",
    "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "true",
    "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
    "KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS": "6000",
    "KAFKA_GROUP_MAX_SESSION_TIMEOUT_MS": "1800000",
}
LONG_MAX = 2**63 - 1
CLEANUP_POLICIES = frozenset({"delete", "compact", "compact,delete", "delete,compact"})


def _retention_ms(value: str) -> bool:
    return re.fullmatch(r"-?\d+", value) is not None and -1 <= int(value) <= LONG_MAX


# The topic-level configs Cartwright creates topics with, and what Apache Kafka accepts for each
# (an unknown name, or a broker config such as `log.retention.hours`, fails CreateTopics).
TOPIC_CONFIGS = {
    "cleanup.policy": lambda value: value in CLEANUP_POLICIES,
    "retention.ms": _retention_ms,
}


# --- reading docker-compose.yml as Compose does ---

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\})"
)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}` (and the forms without `:`)."""

    def value(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"]
        given = env.get(name)
        empty = given is None or (op is not None and op.startswith(":") and given == "")
        if op is not None and op.endswith("?") and empty:
            raise AssertionError(f"docker compose up stops: {name} is not set ({arg})")
        if op is not None and op.endswith("-") and empty:
            return arg
        return given or ""

    return _VARIABLE.sub(value, text)


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def environment(service: str, env: Mapping[str, str] = OPERATOR_ENV) -> dict[str, str]:
    """A service's environment as its container gets it: interpolated, every value a string."""
    raw = services()[service].get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    # A variable without a value is passed through from the operator's shell, or left unset.
    return {
        name: interpolate(str(value), env) if value is not None else env[name]
        for name, value in raw.items()
        if value is not None or name in env
    }


def cartwright_services() -> list[str]:
    """The services that run the Cartwright image (`build: .`) and so read CARTWRIGHT_*."""
    return [name for name, service in services().items() if "build" in service]


def command(service: str) -> list[str]:
    raw = services()[service].get("command", [])
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def option(argv: list[str], flag: str) -> str:
    assert flag in argv, f"{' '.join(argv)} has no {flag}"
    return argv[argv.index(flag) + 1]


@pytest.fixture
def worker_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings built from exactly the worker container's environment: none of this machine's
    CARTWRIGHT_* variables, every one of compose's."""
    for name in [name for name in os.environ if name.startswith(PREFIX)]:
        monkeypatch.delenv(name)
    for name, value in environment(WORKER_SERVICE).items():
        monkeypatch.setenv(name, value)
    return Settings()


# --- the settings ---


def setting(variable: str) -> tuple[list[str], Any] | None:
    """The field path a CARTWRIGHT_* variable sets (as pydantic-settings reads it: prefix, `__`
    nesting, any case) and the field's type, or None when no setting has that name: Settings
    ignores unknown variables, so a misspelt one would silently change nothing."""
    model: type[BaseModel] = Settings
    path: list[str] = []
    parts = variable.removeprefix(PREFIX).lower().split("__")
    for index, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return None
        path.append(part)
        annotation = field.annotation
        last = index == len(parts) - 1
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if last:
            return (path, annotation) if not nested else None
        if not nested:
            return None
        assert isinstance(annotation, type)
        model = annotation
    return None


def reads_back(raw: str, value: Any, annotation: Any) -> bool:
    """Whether a setting holds what its variable said (pydantic's parsing, spelt back)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value() == raw
    if isinstance(value, bool):
        return raw.strip().lower() in (("1", "true", "yes", "on") if value else ("0", "false"))
    if isinstance(value, int | float):
        return float(raw) == value
    if isinstance(value, str):
        return value == raw
    # Durations, mappings, …: what the field's type makes of the text on its own (JSON for
    # mappings and lists, as pydantic-settings reads them).
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    try:
        return bool(adapter.validate_python(raw) == value)
    except ValidationError:
        return bool(adapter.validate_json(raw) == value)


def test_every_cartwright_variable_in_compose_is_a_setting_the_worker_reads() -> None:
    unknown = [
        f"{variable} (service {service})"
        for service in cartwright_services()
        for variable in environment(service)
        if variable.startswith(PREFIX) and setting(variable) is None
    ]

    assert not unknown, (
        f"docker-compose.yml sets {unknown}, which no Cartwright setting reads (Settings ignores "
        "unknown variables): the value has no effect; fix the name (streams/settings.py)"
    )


def test_a_variable_compose_requires_from_the_operator_stops_compose_with_a_message() -> None:
    # `${VAR}` with nothing exported would hand the container an empty string, silently.
    text = COMPOSE.read_text()
    bare = [m.group(0) for m in _VARIABLE.finditer(text) if m["name"] and m["op"] is None]

    assert not bare, f"{bare} in docker-compose.yml become '' when not exported: use ${{VAR:?…}}"
    with pytest.raises(AssertionError, match="CARTWRIGHT_WEB__OPS_TOKEN is not set"):
        environment(WORKER_SERVICE, env={})


def test_the_worker_parses_every_compose_variable_into_the_value_it_says(
    worker_settings: Settings,
) -> None:
    wrong = []
    for variable, raw in environment(WORKER_SERVICE).items():
        found = setting(variable)
        if found is None:
            continue
        path, annotation = found
        value: Any = worker_settings
        for part in path:
            value = getattr(value, part)
        if not reads_back(raw, value, annotation):
            wrong.append(f"{variable}={raw!r} reads as {value!r}")

    assert not wrong, f"the worker would not run with what docker-compose.yml says: {wrong}"


def test_the_worker_runs_on_apache_kafka_with_rocksdb_tables_as_compose_says(
    worker_settings: Settings,
) -> None:
    kafka, tables = worker_settings.kafka, worker_settings.tables

    assert kafka.bootstrap == "kafka:9092"
    assert kafka.partitions == 8
    assert kafka.trust_end_offsets, "Apache Kafka's end offsets are exact: Faust's own recovery"
    assert kafka.replication_factor == 1
    assert (tables.store, tables.data_dir) == ("rocksdb", "/var/lib/cartwright")
    assert worker_settings.web.host == "0.0.0.0"
    assert worker_settings.sandbox_host_names == {"dotdigital", "commerce"}
    assert worker_settings.orders.batch_interval == 5.0


def test_the_worker_passes_its_start_up_checks_with_the_compose_settings(
    worker_settings: Settings,
) -> None:
    # Otherwise `cartwright worker` prints "refusing to start" and exits 2.
    assert preflight.refusals(worker_settings, "worker") == []


# --- the services' commands ---


def entrypoint() -> list[str]:
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("ENTRYPOINT"):
            parsed: list[str] = yaml.safe_load(line.removeprefix("ENTRYPOINT").strip())
            return parsed
    raise AssertionError("the Dockerfile has no ENTRYPOINT")


def test_the_image_runs_the_cartwright_command() -> None:
    assert entrypoint() == ["cartwright"], "compose's `command:`s are `cartwright` arguments"


@pytest.mark.parametrize("service", cartwright_services())
def test_each_service_runs_a_real_cartwright_command(service: str) -> None:
    argv = command(service)
    try:
        args = cli.parser().parse_args(argv)
    except SystemExit as exit_:
        raise AssertionError(
            f"service {service}: `cartwright {' '.join(argv)}` is refused by the CLI "
            f"(exit {exit_.code}): the container would exit at once"
        ) from exit_
    assert callable(args.handler)


def test_the_worker_service_runs_the_worker() -> None:
    assert cli.parser().parse_args(command(WORKER_SERVICE)).handler is cli._worker


@dataclass(frozen=True)
class Sandbox:
    service: str
    port: int
    host: str


def sandboxes() -> Iterator[Sandbox]:
    for service in cartwright_services():
        argv = command(service)
        if argv[:1] == ["sandbox"]:
            yield Sandbox(service, int(option(argv, "--port")), option(argv, "--host"))


def test_the_sandboxes_listen_where_the_worker_calls_them(worker_settings: Settings) -> None:
    listening = {sandbox.service: sandbox for sandbox in sandboxes()}
    calls = {
        "CARTWRIGHT_DOTDIGITAL__BASE_URL": worker_settings.dotdigital.base_url,
        "CARTWRIGHT_ADOBE__PUBLIC_KEY_HOST": worker_settings.adobe.public_key_host,
        "CARTWRIGHT_COMMERCE__BASE_URL": worker_settings.commerce.base_url,
        "CARTWRIGHT_COMMERCE__JOURNAL_URL": worker_settings.commerce.journal_url,
    }
    for variable, url in calls.items():
        parts = urlsplit(url)
        sandbox = listening.get(parts.hostname or "")
        assert sandbox is not None, f"{variable} ({url}) names no service of docker-compose.yml"
        assert parts.port == sandbox.port, (
            f"{variable} ({url}) calls port {parts.port}, but {sandbox.service} listens on "
            f"{sandbox.port}"
        )
    for sandbox in listening.values():
        assert sandbox.host == "0.0.0.0", (
            f"{sandbox.service} listens on {sandbox.host} only: no other container reaches it"
        )


def test_the_commerce_sandbox_delivers_to_the_worker_s_webhook(worker_settings: Settings) -> None:
    [commerce] = [s.service for s in sandboxes() if command(s.service)[1] == "commerce"]
    argv = command(commerce)
    webhooks = [argv[i + 1] for i, part in enumerate(argv) if part == "--webhook"]

    assert webhooks, f"{commerce} delivers its store's events nowhere (no --webhook)"
    for webhook in webhooks:
        parts = urlsplit(webhook)
        assert parts.hostname == WORKER_SERVICE, (
            f"{webhook}: the worker service is {WORKER_SERVICE}"
        )
        assert parts.port == worker_settings.web.port, (
            f"{webhook}: the worker listens on CARTWRIGHT_WEB__PORT {worker_settings.web.port}"
        )
        assert parts.path == WEBHOOK_PATH, f"{webhook}: the worker's webhook is {WEBHOOK_PATH}"


# --- published ports ---


def published(service: str) -> Iterator[tuple[str, str]]:
    """(host address, container port) of each port a service publishes."""
    for port in services()[service].get("ports", []):
        if isinstance(port, dict):
            yield str(port.get("host_ip", "")), str(port["target"])
            continue
        parts = str(port).rsplit(":", 2)
        host = parts[0] if len(parts) == 3 else ""
        yield host, parts[-1].split("/")[0]


def test_ports_are_published_on_the_host_s_loopback_only() -> None:
    exposed = [
        f"{service}: {host or 'every interface'} → {target}"
        for service in services()
        for host, target in published(service)
        if host not in ("127.0.0.1", "::1", "[::1]")
    ]

    assert not exposed, f"published beyond the host's loopback (anyone on the network): {exposed}"


def test_each_published_port_is_one_the_service_listens_on(worker_settings: Settings) -> None:
    listening = {sandbox.service: sandbox.port for sandbox in sandboxes()}
    listening[WORKER_SERVICE] = worker_settings.web.port
    for service, port in listening.items():
        targets = {target for _, target in published(service)}
        assert targets <= {str(port)}, f"{service} publishes {targets} but listens on {port}"


# --- the KRaft broker ---


def kafka_env() -> dict[str, str]:
    return {**KAFKA_DEFAULTS, **environment(KAFKA_SERVICE)}


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """`NAME://host:port,…` → {NAME: (host, port)} (an empty host: every interface)."""
    found = {}
    for listener in filter(None, (item.strip() for item in value.split(","))):
        name, address = listener.split("://", 1)
        host, port = address.rsplit(":", 1)
        found[name] = (host, int(port))
    return found


def brokers() -> int:
    """Kafka nodes with the broker role: services of the kafka image (none scaled)."""
    count = 0
    for name, service in services().items():
        if str(service.get("image", "")).startswith("apache/kafka"):
            roles = environment(name).get("KAFKA_PROCESS_ROLES", "")
            count += "broker" in roles.split(",")
            assert "replicas" not in service.get("deploy", {}), f"{name} is scaled"
    return count


def test_there_is_one_broker() -> None:
    assert brokers() == 1


def test_the_node_is_a_voter_of_its_own_controller_quorum() -> None:
    env = kafka_env()
    node, roles = env["KAFKA_NODE_ID"], env["KAFKA_PROCESS_ROLES"].split(",")
    voters = {
        voter.split("@")[0]: voter.split("@")[1]
        for voter in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    }
    bound = listeners(env["KAFKA_LISTENERS"])
    [controller] = env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(",")

    assert node in voters, f"KAFKA_NODE_ID {node} is not in the quorum voters {voters}"
    assert "controller" in roles, "the only voter must be a controller, or there is no quorum"
    host, port = voters[node].rsplit(":", 1)
    assert host == KAFKA_SERVICE, f"voter {node} is at {host}, not the service's name"
    assert controller in bound, f"the controller listener {controller} is not in KAFKA_LISTENERS"
    assert int(port) == bound[controller][1], (
        f"voter {node} is reached on {port}, the {controller} listener binds {bound[controller]}"
    )


def test_every_listener_has_a_protocol_and_clients_are_never_sent_to_the_controller() -> None:
    env = kafka_env()
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    bound = listeners(env["KAFKA_LISTENERS"])
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    controllers = set(env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(","))

    assert set(bound) <= set(protocols), (
        f"listeners without a protocol: {set(bound) - set(protocols)}"
    )
    # Kafka refuses to start (ConfigException) when a broker advertises a controller listener.
    assert not controllers & set(advertised), "advertised listeners include the controller's"
    for name, (_, port) in advertised.items():
        assert name in bound and bound[name][1] == port, (
            f"advertised {name} on port {port}, but KAFKA_LISTENERS binds {bound.get(name)}"
        )
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in bound, "no inter-broker listener"


def test_the_workers_bootstrap_is_the_advertised_plaintext_listener(
    worker_settings: Settings,
) -> None:
    env = kafka_env()
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    bootstrap = worker_settings.kafka.bootstrap
    host, port = bootstrap.rsplit(":", 1)

    # The broker answers the bootstrap with its advertised address, which the worker then dials.
    matching = [name for name, address in advertised.items() if address == (host, int(port))]
    assert matching, (
        f"CARTWRIGHT_KAFKA__BOOTSTRAP {bootstrap} is no advertised listener {advertised}"
    )
    assert host == KAFKA_SERVICE, (
        f"{bootstrap}: other containers reach the broker as {KAFKA_SERVICE}"
    )
    # Cartwright's clients set no SASL or TLS.
    assert protocols[matching[0]] == "PLAINTEXT", f"{matching[0]} is {protocols[matching[0]]}"


def test_the_internal_topics_fit_one_broker() -> None:
    env, count = kafka_env(), brokers()
    # At 3 (the default) with one broker, `__consumer_offsets` is never created: no group joins.
    for name in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_DEFAULT_REPLICATION_FACTOR",
    ):
        assert int(env[name]) <= count, f"{name} is {env[name]} with {count} broker"
    assert int(env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"]) <= int(
        env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"]
    )
    # The worker produces with acks=all: more in-sync replicas than brokers fails every write.
    assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) <= count


def test_the_worker_s_group_session_timeout_is_one_the_broker_accepts(
    worker_settings: Settings,
) -> None:
    env = kafka_env()
    session_ms = faust_options(worker_settings)["broker_session_timeout"] * 1000
    low, high = (
        int(env["KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS"]),
        int(env["KAFKA_GROUP_MAX_SESSION_TIMEOUT_MS"]),
    )

    # Outside the range the broker answers every JoinGroup with INVALID_SESSION_TIMEOUT.
    assert low <= session_ms <= high, f"session timeout {session_ms} ms not in [{low}, {high}]"


def test_the_workers_start_once_the_broker_answers() -> None:
    # The worker creates its topics first thing and exits if the broker does not answer.
    kafka, worker = services()[KAFKA_SERVICE], services()[WORKER_SERVICE]
    port = listeners(kafka_env()["KAFKA_LISTENERS"])["PLAINTEXT"][1]

    assert worker["depends_on"][KAFKA_SERVICE] == {"condition": "service_healthy"}
    assert f"localhost:{port}" in " ".join(kafka["healthcheck"]["test"])


# --- the topics the worker creates (the broker creates none) ---


class RecordingAdmin:
    """The admin client `create_topics` opens, on a broker that has no topics yet: it keeps
    what CreateTopics would carry."""

    created: list[NewTopic] = []

    def __init__(self, **options: Any) -> None:
        self.options = options

    async def start(self) -> None:
        """Connected."""

    async def close(self) -> None:
        """Closed."""

    async def list_topics(self) -> list[str]:
        return []

    async def create_topics(self, new_topics: list[NewTopic]) -> None:
        RecordingAdmin.created.extend(new_topics)


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch, worker_settings: Settings) -> list[NewTopic]:
    """What `cartwright worker` asks the broker to create at start, with the compose settings."""
    RecordingAdmin.created = []
    monkeypatch.setattr(runtime_topics, "AIOKafkaAdminClient", RecordingAdmin)
    cli._create_topics(worker_settings)  # as `cartwright worker` calls it before Faust starts
    return list(RecordingAdmin.created)


def test_auto_create_is_off_so_the_worker_creates_every_topic_it_uses(
    created: list[NewTopic], worker_settings: Settings, tmp_path: Path
) -> None:
    assert kafka_env()["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    names = {topic.name for topic in created}
    # Every topic Cartwright owns, and every topic an agent of the worker reads (the tables'
    # changelogs are Faust's own, created by Faust).
    owned = {
        value
        for name, value in vars(contract_topics).items()
        if name.isupper() and isinstance(value, str)
    }
    here = worker_settings.model_copy(
        update={"tables": TablesSettings(store="rocksdb", data_dir=str(tmp_path))}
    )
    read = {name for agent in create_app(here).agents.values() for name in agent.channel.topics}

    assert owned - names == set(), f"topics nobody creates (the broker will not): {owned - names}"
    assert read - names == set(), f"agents read topics nobody creates: {read - names}"


def test_the_created_topics_fit_one_broker(
    created: list[NewTopic], worker_settings: Settings
) -> None:
    count = brokers()
    too_many = [t.name for t in created if t.replication_factor > count]

    assert not too_many, f"replication factor above {count} broker, CreateTopics fails: {too_many}"
    assert faust_options(worker_settings)["topic_replication_factor"] <= count, (
        "Faust creates the tables' changelogs with CARTWRIGHT_KAFKA__REPLICATION_FACTOR"
    )
    partitions = {t.name: t.num_partitions for t in created}
    assert all(count >= 1 for count in partitions.values())
    assert partitions[contract_topics.ORDERS] == worker_settings.kafka.partitions


def test_the_created_topics_use_configs_apache_kafka_accepts(created: list[NewTopic]) -> None:
    refused = [
        f"{topic.name}: {name}={value}"
        for topic in created
        for name, value in topic.topic_configs.items()
        if name not in TOPIC_CONFIGS or not TOPIC_CONFIGS[name](value)
    ]

    assert not refused, f"CreateTopics would fail with InvalidConfigurationException: {refused}"
    configs = {topic.name: topic.topic_configs for topic in created}
    # What "Personal data" in the README promises the operator, on the broker that applies it.
    assert configs[contract_topics.DEADLETTER]["retention.ms"] == str(30 * 24 * 3600 * 1000)
    assert configs[contract_topics.CURSORS]["cleanup.policy"] == "compact"


@pytest.mark.parametrize("days", [0.0001, 30.0, 365.0 * 100])
def test_any_incident_retention_the_setting_allows_is_a_valid_retention_ms(days: float) -> None:
    retention = runtime_topics.topic_configs(contract_topics.DEADLETTER, days)["retention.ms"]

    assert TOPIC_CONFIGS["retention.ms"](retention), f"{days} days → retention.ms {retention}"
    assert int(retention) > 0, f"{days} days rounds to {retention}: Kafka would keep nothing"


# --- the tables' volume ---


def test_the_rocksdb_data_dir_is_each_worker_replica_s_own_volume(
    worker_settings: Settings,
) -> None:
    volumes = services()[WORKER_SERVICE].get("volumes", [])
    data_dir = worker_settings.tables.data_dir
    mounts = {
        str(volume).split(":")[-1] if ":" in str(volume) else str(volume) for volume in volumes
    }

    assert data_dir in mounts, (
        f"CARTWRIGHT_TABLES__DATA_DIR {data_dir} is no volume of the worker: the tables are lost "
        "whenever compose recreates the container, and rebuilt from the changelogs"
    )
    # A named or bind volume is shared by every `--scale worker=N` replica, and RocksDB locks a
    # partition's database to one process: anonymous volumes give each replica its own.
    assert data_dir in volumes, f"{data_dir} must be an anonymous volume (`- {data_dir}`)"
