"""One real stack per test session: Tansu broker, Dotdigital sandbox, key host and a worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.broker import EmbeddedBroker
from sandbox.commerce.signing import Signer
from tests.integration.harness import (
    Dotdigital,
    Stack,
    base_env,
    eventually,
    free_port,
    key_host,
    start_cli,
)

pytestmark = pytest.mark.integration


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _assigned(url: str) -> bool:
    try:
        status = httpx.get(url, timeout=1).json()
    except (httpx.HTTPError, ValueError):
        return False
    return bool(status.get("assigned"))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("stack-logs")
    signer = Signer()
    broker_port, dd_port, web_port = free_port(), free_port(), free_port()
    processes = []
    with EmbeddedBroker(port=broker_port) as broker, key_host(signer) as keys:
        dotdigital_url = f"http://127.0.0.1:{dd_port}"
        env = base_env(
            CARTWRIGHT_KAFKA__BOOTSTRAP=broker.bootstrap,
            CARTWRIGHT_KAFKA__PARTITIONS="4",
            CARTWRIGHT_DOTDIGITAL__BASE_URL=dotdigital_url,
            CARTWRIGHT_ADOBE__PUBLIC_KEY_HOST=keys,
            CARTWRIGHT_WEB__PORT=str(web_port),
            CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5",
            # Short enough that the fault tests' slow answers become client timeouts.
            CARTWRIGHT_DOTDIGITAL__TIMEOUT="3",
        )
        try:
            sandbox = start_cli(
                "dotdigital", ["sandbox", "dotdigital", "--port", str(dd_port)], env, logs
            )
            processes.append(sandbox)
            eventually(lambda: _healthy(f"{dotdigital_url}/_sandbox/stats"), what="sandbox")
            worker = start_cli("worker", ["worker"], env, logs)
            processes.append(worker)
            worker_url = f"http://127.0.0.1:{web_port}"
            eventually(lambda: _assigned(f"{worker_url}/ops/status"), what="worker", timeout=90)
            yield Stack(
                bootstrap=broker.bootstrap,
                worker_url=worker_url,
                webhook=f"{worker_url}/webhooks/adobe-commerce",
                dotdigital=Dotdigital(dotdigital_url),
                signer=signer,
                processes=processes,
            )
        finally:
            for process in reversed(processes):
                process.stop()
            for process in processes:
                print(f"--- {process.name} log: {Path(process.log)} ---\n{process.tail(30)}")
