"""A worker that Dotdigital refuses outright stops loudly instead of skipping records."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.stack import Stack, base_env, free_port, start_cli

pytestmark = pytest.mark.integration


def test_worker_with_refused_credentials_exits_nonzero_without_leaking_the_password(
    stack: Stack, tmp_path: Path
) -> None:
    env = base_env(
        CARTWRIGHT_KAFKA__BOOTSTRAP=stack.bootstrap,
        CARTWRIGHT_KAFKA__PARTITIONS="4",
        CARTWRIGHT_KAFKA__APP_ID="cartwright-refused",
        CARTWRIGHT_DOTDIGITAL__BASE_URL=stack.dotdigital.base_url,
        CARTWRIGHT_DOTDIGITAL__PASSWORD="not-the-password-1234",
        CARTWRIGHT_WEB__PORT=str(free_port()),
    )
    worker = start_cli("refused-worker", ["worker"], env, tmp_path)
    try:
        code = worker.popen.wait(timeout=90)
    except subprocess.TimeoutExpired:
        worker.stop()
        pytest.fail(f"worker kept running with refused credentials:\n{worker.tail()}")

    log = worker.log.read_text(errors="replace")
    assert code != 0
    assert "check the API user and password" in log
    assert "not-the-password-1234" not in log
