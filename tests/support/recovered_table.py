"""A one-table Cartwright worker that, once its table is recovered, writes the table to a file.

Run as `python -m tests.support.recovered_table BOOTSTRAP APP_ID TABLE PARTITIONS OUT [--trust]
[--rocksdb DATA_DIR]`:
the recovery seam's test (tests/integration/test_recovery_seam.py) starts it as a real Faust
worker over a changelog it wrote itself, and reads what the worker recovered from `OUT`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from streams.runtime.application import CartwrightApp
from streams.runtime.tables import bytes_table


def build(
    bootstrap: str,
    app_id: str,
    table_name: str,
    partitions: int,
    out: Path,
    *,
    trust: bool,
    rocksdb: Path | None = None,
) -> Any:
    """The worker app: `out` gets the table as {key: value} (UTF-8) when recovery completes.
    With `rocksdb`, the table is kept in RocksDB under that data directory."""
    stores: dict[str, Any] = (
        {"store": "rocksdb://", "datadir": str(rocksdb)} if rocksdb else {"store": "memory://"}
    )
    app = CartwrightApp(
        app_id,
        broker=f"kafka://{bootstrap}",
        **stores,
        fetch_max_wait_ms=50,
        trust_end_offsets=trust,
        topic_partitions=partitions,
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.5,
        broker_rebalance_timeout=6.0,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
    )
    table = bytes_table(app, table_name, partitions)

    @app.on_rebalance_complete.connect
    async def write_table(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        contents = {key.decode(): value.decode() for key, value in table.items()}
        written = out.with_suffix(".tmp")
        written.write_bytes(orjson.dumps(contents))
        # Renamed into place, so the test never reads half a file.
        written.replace(out)

    return app


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="recovered_table")
    parser.add_argument("bootstrap")
    parser.add_argument("app_id")
    parser.add_argument("table")
    parser.add_argument("partitions", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--trust", action="store_true", help="trust_end_offsets (stock Faust)")
    parser.add_argument("--rocksdb", type=Path, default=None, help="RocksDB under this data dir")
    args = parser.parse_args(argv)
    app = build(
        args.bootstrap,
        args.app_id,
        args.table,
        args.partitions,
        args.out,
        trust=args.trust,
        rocksdb=args.rocksdb,
    )
    sys.argv = [sys.argv[0], "worker", "--loglevel", "info", "--without-web"]
    app.main()


if __name__ == "__main__":
    main(sys.argv[1:])
