"""What the worker exposes: it listens only where told, serves none of Faust's own views, and
refuses to start exposed without an ops token or with sandbox secrets for a real service."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.sockets import listening_addresses, proc_listening_addresses
from tests.support.stack import Process, Stack, base_env, free_port, start_cli

pytestmark = pytest.mark.integration


def test_the_worker_listens_only_on_its_configured_host(stack: Stack) -> None:
    port = urlsplit(stack.worker_url).port
    assert port is not None

    # The stack's worker has the default CARTWRIGHT_WEB__HOST, 127.0.0.1: not 0.0.0.0, not [::].
    assert listening_addresses(port) == {"127.0.0.1"}
    assert proc_listening_addresses(port) == {"127.0.0.1"}


@pytest.mark.parametrize(
    "path",
    [
        "/router/",
        "/router/topics",
        "/table/",
        "/table/contacts/",
        "/",
        "/assignment/",
        "/graph/",
        "/performance/",
    ],
)
def test_fausts_own_views_answer_404(stack: Stack, path: str) -> None:
    assert httpx.get(stack.worker_url + path, timeout=10).status_code == 404


def test_the_ops_health_answers(stack: Stack) -> None:
    answer = httpx.get(f"{stack.worker_url}/ops/health", timeout=10)

    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def refused(name: str, tmp_path: Path, **settings: str) -> tuple[int, str]:
    """Start a worker that must refuse to start; its exit code and its output."""
    worker: Process = start_cli(name, ["worker"], base_env(**settings), tmp_path)
    try:
        code = worker.popen.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.stop()
        pytest.fail(f"worker started though it must refuse:\n{worker.tail()}")
    return code, worker.log.read_text(errors="replace")


def test_a_worker_bound_beyond_loopback_without_an_ops_token_refuses_to_start(
    stack: Stack, tmp_path: Path
) -> None:
    port = free_port()

    code, log = refused(
        "exposed-worker",
        tmp_path,
        CARTWRIGHT_KAFKA__BOOTSTRAP=stack.bootstrap,
        CARTWRIGHT_KAFKA__APP_ID="cartwright-exposed",
        CARTWRIGHT_WEB__HOST="0.0.0.0",
        CARTWRIGHT_WEB__PORT=str(port),
    )

    assert code == 2
    assert "cartwright worker: refusing to start" in log
    assert "CARTWRIGHT_WEB__OPS_TOKEN must be set" in log
    assert listening_addresses(port) == set()


def test_a_worker_with_the_sandbox_password_for_a_real_dotdigital_refuses_to_start(
    stack: Stack, tmp_path: Path
) -> None:
    code, log = refused(
        "sandbox-secret-worker",
        tmp_path,
        CARTWRIGHT_KAFKA__BOOTSTRAP=stack.bootstrap,
        CARTWRIGHT_KAFKA__APP_ID="cartwright-sandbox-secret",
        CARTWRIGHT_DOTDIGITAL__BASE_URL="https://r1-api.dotdigital.com",
        CARTWRIGHT_DOTDIGITAL__PASSWORD="change-me-please",
        CARTWRIGHT_WEB__PORT=str(free_port()),
    )

    assert code == 2
    assert "CARTWRIGHT_DOTDIGITAL__PASSWORD is the sandbox's password" in log
    assert "change-me-please" not in log
