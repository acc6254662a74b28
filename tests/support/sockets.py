"""Which local addresses listen on a TCP port: `ss -ltn`, or /proc/net/tcp where `ss` is missing."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

_LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on `port`, as `ss` prints them: `127.0.0.1`,
    `0.0.0.0`, `[::1]`, `[::]` (or `*`)."""
    ss = shutil.which("ss")
    if ss is None:
        return proc_listening_addresses(port)
    shown = subprocess.run(
        [ss, "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return {line.split()[3].rpartition(":")[0] for line in shown.splitlines() if line.strip()}


def proc_listening_addresses(port: int) -> set[str]:
    """The same, read from the kernel's tables (what `ss` reads too)."""
    found: set[str] = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] == _LISTEN and int(hex_port, 16) == port:
                found.add(_address(address))
    return found


def _address(hex_address: str) -> str:
    # The kernel prints each 32-bit word of the address in host (little-endian) byte order.
    raw = b"".join(
        bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, len(hex_address), 8)
    )
    address = ipaddress.ip_address(raw)
    return str(address) if address.version == 4 else f"[{address}]"
