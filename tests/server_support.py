"""Helpers for tests that start ``korpu serve`` as a real subprocess on a loopback port."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import httpx
import pytest

__all__ = ["free_port", "wait_until_serving"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_until_serving(
    client: httpx.AsyncClient, process: subprocess.Popen[bytes], *, within: float = 30.0
) -> None:
    """Wait until the server answers ``GET /health`` with 200; fail the test if it exits first or
    does not answer within ``within`` seconds."""
    for _ in range(int(within * 10)):
        if process.poll() is not None:
            output = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"korpu serve exited: {output}")
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    pytest.fail(f"korpu serve did not answer /health within {within:.0f} s")
