"""Start-up refuses an exposed worker without an ops token, sandbox secrets or plain http beyond
the sandboxes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from sandbox.commerce.api.auth import IntegrationCredentials
from sandbox.dotdigital.account.config import SandboxConfig
from streams.runtime.preflight import (
    SANDBOX_SECRETS,
    Command,
    RefusedSettings,
    check,
    commerce_refusals,
    exposure_refusals,
    is_loopback,
    is_sandbox,
    refusals,
)
from streams.settings import (
    AdobeSettings,
    CommerceSettings,
    DotdigitalSettings,
    KafkaSettings,
    Settings,
    TablesSettings,
    WebSettings,
)

LOCAL = "http://127.0.0.1:8026"


def local(**changes: Any) -> Settings:
    """Everything on loopback with the sandboxes' credentials (what `make run` and the
    integration tests start), then `changes`."""
    settings = Settings(
        dotdigital=DotdigitalSettings(base_url="http://127.0.0.1:8025"),
        adobe=AdobeSettings(public_key_host=LOCAL),
        commerce=CommerceSettings(base_url=LOCAL, journal_url=f"{LOCAL}/_journal/commerce"),
        web=WebSettings(host="127.0.0.1"),
    )
    return settings.model_copy(update=changes)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "", "10.0.0.5", "192.168.1.2", "localhost.example.com", "worker"]
)
def test_hosts_beyond_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_a_sandbox_is_loopback_or_listed_by_name_in_any_case() -> None:
    assert is_sandbox("127.0.0.1", [])
    assert is_sandbox("Commerce", ["dotdigital", "commerce"])
    assert not is_sandbox("commerce.example.com", ["dotdigital", "commerce"])


@pytest.mark.parametrize("command", ["worker", "backfill", "journal"])
def test_the_local_stack_starts(command: Command) -> None:
    check(local(), command)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::", "worker"])
def test_a_worker_beyond_loopback_needs_an_ops_token(host: str) -> None:
    exposed = local(web=WebSettings(host=host))
    blank = local(web=WebSettings(host=host, ops_token=SecretStr("  ")))
    guarded = local(web=WebSettings(host=host, ops_token=SecretStr("s3cret-ops-token-1234")))

    [reason] = exposure_refusals(exposed)
    assert "CARTWRIGHT_WEB__OPS_TOKEN" in reason
    assert host in reason
    assert exposure_refusals(blank) == [reason]
    assert exposure_refusals(guarded) == []


def test_each_command_is_checked_for_what_it_serves_and_calls() -> None:
    exposed = local(web=WebSettings(host="0.0.0.0"))
    real_dotdigital = local(dotdigital=DotdigitalSettings())
    plain_journal = local(
        commerce=local().commerce.model_copy(update={"journal_url": "http://events.example/j"})
    )

    with pytest.raises(RefusedSettings, match="CARTWRIGHT_WEB__OPS_TOKEN"):
        check(exposed, "worker")
    check(exposed, "backfill")
    check(real_dotdigital, "backfill")  # a backfill never calls Dotdigital
    check(real_dotdigital, "journal")
    with pytest.raises(RefusedSettings, match="CARTWRIGHT_COMMERCE__JOURNAL_URL"):
        check(plain_journal, "journal")
    check(plain_journal, "worker")  # the worker never reads the journal


def test_the_defaults_refuse_to_send_the_sandbox_password_to_dotdigital() -> None:
    with pytest.raises(RefusedSettings) as refused:
        check(Settings(), "worker")

    [reason] = refused.value.reasons
    assert "CARTWRIGHT_DOTDIGITAL__PASSWORD is the sandbox's password" in reason
    assert "https://r1-api.dotdigital.com" in reason
    assert "change-me-please" not in reason


def test_sandbox_credentials_go_to_listed_sandbox_hosts_over_http() -> None:
    compose = local(
        dotdigital=DotdigitalSettings(base_url="http://dotdigital:8025"),
        adobe=AdobeSettings(public_key_host="http://commerce:8026"),
        commerce=CommerceSettings(
            base_url="http://commerce:8026", journal_url="http://commerce:8026/_journal/commerce"
        ),
        sandbox_hosts=" dotdigital , commerce ",
    )

    assert refusals(compose, "worker") + refusals(compose, "journal") == []
    unlisted = compose.model_copy(update={"sandbox_hosts": ""})
    reasons = refusals(unlisted, "worker") + refusals(unlisted, "journal")
    assert len(reasons) == 6  # four plain-http URLs, the password and the token
    assert all("CARTWRIGHT_SANDBOX_HOSTS" in reason for reason in reasons)


def test_the_sandbox_commerce_token_is_refused_for_a_real_store() -> None:
    store = local(commerce=CommerceSettings(base_url="https://shop.example.com"))

    [reason] = commerce_refusals(store)
    assert reason.startswith("CARTWRIGHT_COMMERCE__TOKEN is the Commerce sandbox's")
    real = store.commerce.model_copy(update={"token": SecretStr("a-real-integration-token")})
    assert commerce_refusals(local(commerce=real)) == []


def test_with_oauth_the_secrets_sent_are_checked_and_the_unused_token_is_not() -> None:
    sandbox = IntegrationCredentials()
    oauth = CommerceSettings(
        base_url="https://shop.example.com",
        consumer_key="key",
        consumer_secret=SecretStr(sandbox.consumer_secret),
        access_token="token",
        access_token_secret=SecretStr("a-real-token-secret"),
    )

    [reason] = commerce_refusals(local(commerce=oauth))
    assert reason.startswith("CARTWRIGHT_COMMERCE__CONSUMER_SECRET")


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("CARTWRIGHT_DOTDIGITAL__BASE_URL", "http://r1-api.dotdigital.com"),
        ("CARTWRIGHT_ADOBE__PUBLIC_KEY_HOST", "http://static.adobeioevents.com"),
        ("CARTWRIGHT_COMMERCE__BASE_URL", "http://shop.example.com"),
        ("CARTWRIGHT_COMMERCE__JOURNAL_URL", "http://events.example.com/journal"),
    ],
)
def test_plain_http_beyond_the_sandboxes_is_refused(field: str, url: str) -> None:
    section, name = field.removeprefix("CARTWRIGHT_").lower().split("__")
    settings = local()
    changed = getattr(settings, section).model_copy(update={name: url})
    if section == "dotdigital":
        changed = changed.model_copy(update={"password": SecretStr("the-real-password")})
    if section == "commerce":
        changed = changed.model_copy(update={"token": SecretStr("the-real-token")})

    changed_settings = settings.model_copy(update={section: changed})
    [reason] = refusals(changed_settings, "worker") + refusals(changed_settings, "journal")

    assert reason.startswith(f"{field} ({url}) is plain http")


def test_an_unused_key_host_is_not_checked_and_a_non_url_is_refused() -> None:
    unverified = local(
        adobe=AdobeSettings(public_key_host="http://x.example", verify_signatures=False)
    )
    garbled = local(adobe=AdobeSettings(public_key_host="static.adobeioevents.com"))

    assert refusals(unverified, "worker") == []
    assert refusals(garbled, "worker") == [
        "CARTWRIGHT_ADOBE__PUBLIC_KEY_HOST ('static.adobeioevents.com') is not an http(s) URL"
    ]


def test_the_refused_secrets_are_the_ones_the_sandboxes_issue() -> None:
    commerce, dotdigital = IntegrationCredentials(), SandboxConfig()

    assert {
        commerce.access_token,
        commerce.consumer_secret,
        commerce.access_token_secret,
        dotdigital.password,
        DotdigitalSettings().password.get_secret_value(),
    } <= SANDBOX_SECRETS
    default_token = CommerceSettings().token
    assert default_token is not None
    assert default_token.get_secret_value() in SANDBOX_SECRETS


def test_rocksdb_tables_are_refused_on_the_embedded_broker_saying_what_to_set() -> None:
    # Its log lives in memory: RocksDB's files (and the offsets they applied) would outlive it.
    on_tansu = local(tables=TablesSettings(store="rocksdb", data_dir="/var/lib/cartwright"))

    [reason] = refusals(on_tansu, "worker")
    assert reason.startswith("CARTWRIGHT_TABLES__STORE is 'rocksdb', but ")
    assert "'/var/lib/cartwright'" in reason
    assert "CARTWRIGHT_TABLES__STORE=memory" in reason
    assert "CARTWRIGHT_KAFKA__TRUST_END_OFFSETS=true" in reason
    with pytest.raises(RefusedSettings):
        check(on_tansu, "worker")


def test_rocksdb_tables_start_on_apache_kafka_and_memory_tables_anywhere() -> None:
    kafka = KafkaSettings(trust_end_offsets=True)

    assert refusals(local(tables=TablesSettings(store="rocksdb"), kafka=kafka), "worker") == []
    assert refusals(local(tables=TablesSettings(store="memory")), "worker") == []
    # Commands that keep no tables are not held up by the store.
    assert refusals(local(tables=TablesSettings(store="rocksdb")), "backfill") == []
