"""Start-up checks: settings that would expose the worker, send credentials astray or keep tables
where the broker cannot recover them."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr

from streams.settings import SANDBOX_COMMERCE_TOKEN, SANDBOX_DOTDIGITAL_PASSWORD, Settings

# Secrets anyone can read in this repository: the settings' defaults, and what the sandboxes
# issue (sandbox/commerce/api/auth.py, sandbox/dotdigital/account/config.py).
SANDBOX_SECRETS = frozenset(
    {
        SANDBOX_DOTDIGITAL_PASSWORD,
        "sandbox-password",
        SANDBOX_COMMERCE_TOKEN,
        "cartwright-consumer-secret",
        "cartwright-access-token-secret",
    }
)
SANDBOX_HOSTS_SETTING = "CARTWRIGHT_SANDBOX_HOSTS"
# A *sandbox* host is a loopback host (127.0.0.0/8, ::1, `localhost`) or one named in
# CARTWRIGHT_SANDBOX_HOSTS. Only a sandbox may be called with the sandboxes' credentials or over
# plain http. One list serves both rules on purpose: the only plain-http servers Cartwright talks
# to are its sandboxes (Dotdigital, Adobe's key host and Commerce are https), so naming a host a
# sandbox is the one deliberate statement an operator makes, and there is no second "allow http"
# switch to be left on in production.


class RefusedSettings(Exception):
    """The settings are unsafe to start with; `reasons` says why, naming each setting."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def is_loopback(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1 (also written as an IPv4-mapped address)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_sandbox(host: str, sandbox_hosts: Iterable[str]) -> bool:
    """A loopback host, or one the operator listed as a sandbox."""
    return is_loopback(host) or host.strip().lower() in {name.lower() for name in sandbox_hosts}


def exposure_refusals(settings: Settings) -> list[str]:
    """The worker's web server: beyond loopback, only with an ops token."""
    web = settings.web
    if is_loopback(web.host) or _given(web.ops_token):
        return []
    return [
        f"CARTWRIGHT_WEB__HOST is {web.host!r}, beyond loopback, so CARTWRIGHT_WEB__OPS_TOKEN "
        "must be set (a long random string): without it anyone who reaches the port reads "
        "/ops/status; or listen on 127.0.0.1"
    ]


def dotdigital_refusals(settings: Settings) -> list[str]:
    """The Dotdigital API: https unless a sandbox; the sandbox's password only to a sandbox."""
    sandboxes = settings.sandbox_host_names
    dotdigital = settings.dotdigital
    reasons = _transport_refusals("CARTWRIGHT_DOTDIGITAL__BASE_URL", dotdigital.base_url, sandboxes)
    if _sandbox_secret(dotdigital.password) and not _to_sandbox(dotdigital.base_url, sandboxes):
        reasons.append(
            "CARTWRIGHT_DOTDIGITAL__PASSWORD is the sandbox's password, but "
            f"CARTWRIGHT_DOTDIGITAL__BASE_URL ({dotdigital.base_url}) is not a sandbox: set the "
            f"API user's own password (or list the host in {SANDBOX_HOSTS_SETTING})"
        )
    return reasons


def commerce_refusals(settings: Settings) -> list[str]:
    """The Commerce REST API: https unless a sandbox; the sandbox's secrets only to a sandbox."""
    sandboxes = settings.sandbox_host_names
    commerce = settings.commerce
    reasons = _transport_refusals("CARTWRIGHT_COMMERCE__BASE_URL", commerce.base_url, sandboxes)
    # The secrets the client sends (streams/runtime/clients.py): OAuth's when all four are set.
    oauth = all(
        (
            commerce.consumer_key,
            commerce.consumer_secret,
            commerce.access_token,
            commerce.access_token_secret,
        )
    )
    secrets = (
        {
            "CARTWRIGHT_COMMERCE__CONSUMER_SECRET": commerce.consumer_secret,
            "CARTWRIGHT_COMMERCE__ACCESS_TOKEN_SECRET": commerce.access_token_secret,
        }
        if oauth
        else {"CARTWRIGHT_COMMERCE__TOKEN": commerce.token}
    )
    if not _to_sandbox(commerce.base_url, sandboxes):
        reasons.extend(
            f"{name} is the Commerce sandbox's, but CARTWRIGHT_COMMERCE__BASE_URL "
            f"({commerce.base_url}) is not a sandbox: set the integration's own credentials "
            f"(or list the host in {SANDBOX_HOSTS_SETTING})"
            for name, secret in secrets.items()
            if _sandbox_secret(secret)
        )
    return reasons


def key_host_refusals(settings: Settings) -> list[str]:
    """Adobe's public keys: over https unless from a sandbox (a forged key forges deliveries)."""
    adobe = settings.adobe
    if not adobe.verify_signatures:
        return []
    return _transport_refusals(
        "CARTWRIGHT_ADOBE__PUBLIC_KEY_HOST", adobe.public_key_host, settings.sandbox_host_names
    )


def journal_refusals(settings: Settings) -> list[str]:
    """The Adobe I/O Events journal: https unless a sandbox."""
    return _transport_refusals(
        "CARTWRIGHT_COMMERCE__JOURNAL_URL",
        settings.commerce.journal_url,
        settings.sandbox_host_names,
    )


def store_refusals(settings: Settings) -> list[str]:
    """RocksDB tables only on Apache Kafka (`KAFKA__TRUST_END_OFFSETS`): the embedded broker keeps
    its log in memory and each run starts a fresh one, but RocksDB's files outlive it, and with
    them the last changelog offset each partition applied. The next worker's Faust recovery finds
    that offset beyond the fresh changelog's end and stops in `ConsistencyError` (or, for an offset
    0, keeps rows the broker no longer has). Tables that live as long as the broker's log are the
    memory store's, recovered whole at every start (specs/embedded-broker.md: memory on Tansu)."""
    tables, kafka = settings.tables, settings.kafka
    if tables.store != "rocksdb" or kafka.trust_end_offsets:
        return []
    return [
        "CARTWRIGHT_TABLES__STORE is 'rocksdb', but CARTWRIGHT_KAFKA__TRUST_END_OFFSETS is false "
        "(the embedded broker): its log lives in memory and a fresh broker starts empty, so the "
        f"tables RocksDB keeps in {tables.data_dir!r} would outlive their changelogs and the next "
        "worker would stop in table recovery; keep CARTWRIGHT_TABLES__STORE=memory on the "
        "embedded broker, or on Apache Kafka set CARTWRIGHT_KAFKA__TRUST_END_OFFSETS=true"
    ]


Command = Literal["worker", "backfill", "journal"]
# Each command is checked for what it serves and calls: the worker serves HTTP, calls Dotdigital,
# Commerce and the key host, and keeps the tables; a backfill calls Commerce; the journal pull
# its journal.
_RULES: dict[Command, tuple[Callable[[Settings], list[str]], ...]] = {
    "worker": (
        exposure_refusals,
        dotdigital_refusals,
        commerce_refusals,
        key_host_refusals,
        store_refusals,
    ),
    "backfill": (commerce_refusals,),
    "journal": (journal_refusals,),
}


def refusals(settings: Settings, command: Command) -> list[str]:
    """Every reason `command` must not start with these settings, each naming its setting."""
    return [reason for rule in _RULES[command] for reason in rule(settings)]


def check(settings: Settings, command: Command) -> None:
    """Raise `RefusedSettings` unless `command` is safe to start with these settings."""
    reasons = refusals(settings, command)
    if reasons:
        raise RefusedSettings(reasons)


def _transport_refusals(name: str, url: str, sandboxes: frozenset[str]) -> list[str]:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"{name} ({url!r}) is not an http(s) URL"]
    if parts.scheme == "http" and not is_sandbox(parts.hostname, sandboxes):
        return [
            f"{name} ({url}) is plain http to a host that is not a sandbox: use https "
            f"(or, for a sandbox, list {parts.hostname!r} in {SANDBOX_HOSTS_SETTING})"
        ]
    return []


def _to_sandbox(url: str, sandboxes: frozenset[str]) -> bool:
    host = urlsplit(url.strip()).hostname
    return host is not None and is_sandbox(host, sandboxes)


def _given(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value().strip())


def _sandbox_secret(secret: SecretStr | None) -> bool:
    return secret is not None and secret.get_secret_value() in SANDBOX_SECRETS
