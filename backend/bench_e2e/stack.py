"""A throw-away Körpü stack on loopback: its own PostgreSQL database and the processes around it.

:class:`Stack` creates a fresh database (``CREATE DATABASE`` through psql on 127.0.0.1:5432),
migrates it, and starts ``korpu serve --workers N``, ``korpu worker`` and the mock partner bank as
subprocesses of this one, each in its own process group with its output in a log file. It can
``kill -9`` any of them (the crash test does) and start them again, and :meth:`Stack.close` stops
everything it started and drops the database. Every address is 127.0.0.1; ports are picked free.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

import backend
from backend.settings import Settings

__all__ = ["Process", "Stack", "StackConfig", "free_port", "psql"]

HOST = "127.0.0.1"
PG_ADMIN = ("-h", HOST, "-p", "5432", "-U", "postgres")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def psql(sql: str, database: str = "postgres") -> str:
    """Run ``sql`` with psql as the ``postgres`` user on 127.0.0.1:5432; returns its output."""
    done = subprocess.run(  # noqa: S603
        ["psql", *PG_ADMIN, "-d", database, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")
    return done.stdout


def _new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True, slots=True)
class StackConfig:
    """How the stack runs."""

    server_workers: int = 2
    """``korpu serve --workers``: uvicorn processes sharing the port."""
    db_pool_size: int = 12
    """``KORPU_DB_POOL_SIZE`` per process (up to twice as many connections with overflow)."""
    log_level: str = "WARNING"
    """``KORPU_LOG_LEVEL`` of every process: quiet under load."""
    keep_database: bool = False
    """Leave the database behind after the run (to look at it)."""
    profile_dir: Path | None = None
    """``KORPU_PROFILE_DIR`` of the server: its processes profile their CPU time on a signal."""


@dataclass
class Process:
    """One started subprocess: its command, process, and log file."""

    name: str
    argv: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    starts: int = 0

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class Stack:
    """The database and the processes of one benchmark run; see the module docstring."""

    config: StackConfig
    workdir: Path
    database: str = field(default_factory=lambda: f"korpu_e2e_{os.getpid()}_{secrets.token_hex(3)}")
    api_port: int = field(default_factory=free_port)
    bank_port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)
    _created: bool = False

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://postgres@{HOST}:5432/{self.database}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def bank_url(self) -> str:
        return f"http://{HOST}:{self.bank_port}"

    def env(self) -> dict[str, str]:
        """The environment of every process of the stack (and of this one's :meth:`settings`)."""
        root = str(Path(backend.__file__).resolve().parent.parent)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("KORPU_")}
        return {
            **inherited,
            "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p),
            # The test environment hashes PINs cheaply, which only the senders' sign-up feels; the
            # measured request path is the same in every environment. Secrets: this run's own.
            "KORPU_ENV": "test",
            "KORPU_DEV_SMS_INBOX": "1",
            **self._secrets,
            "KORPU_DATABASE_URL": self.database_url,
            "KORPU_VAR_DIR": str(self.workdir / "var"),
            "KORPU_HOST": HOST,
            "KORPU_PORT": str(self.api_port),
            "KORPU_WORKERS": str(self.config.server_workers),
            "KORPU_LOG_LEVEL": self.config.log_level,
            "KORPU_DB_POOL_SIZE": str(self.config.db_pool_size),
            **({"KORPU_PROFILE_DIR": str(self.config.profile_dir)} if self.config.profile_dir else {}),
        }

    def settings(self) -> Settings:
        """The settings every process of the stack reads (same secrets: same ``var`` folder)."""
        return Settings.from_env({k: v for k, v in self.env().items() if k.startswith("KORPU_")})

    # --- database ----------------------------------------------------------------------------

    def create_database(self) -> None:
        """A fresh, migrated database."""
        psql(f'CREATE DATABASE "{self.database}"')
        self._created = True
        self._korpu("db", "upgrade")

    def drop_database(self) -> None:
        if self._created and not self.config.keep_database:
            psql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self._created = False

    def _korpu(self, *args: str) -> None:
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "backend.cli", *args],
            env=self.env(),
            cwd=self.workdir,
            check=True,
            capture_output=True,
            timeout=300,
        )

    # --- processes ---------------------------------------------------------------------------

    def define(self, name: str, *args: str, extra_env: dict[str, str] | None = None) -> Process:
        """Declare a ``korpu ARGS`` process (not started yet)."""
        process = Process(name, [sys.executable, "-m", "backend.cli", *args], self.workdir / f"{name}.log")
        self.processes[name] = process
        self._extra_env[name] = extra_env or {}
        return process

    def __post_init__(self) -> None:
        self._extra_env: dict[str, dict[str, str]] = {}
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._secrets = {
            "KORPU_SECRET_KEY": _new_key(),
            "KORPU_DATA_KEYS": f"1:{_new_key()}",
            "KORPU_LEDGER_SIGNING_KEY": _new_key(),
        }

    def start(self, name: str) -> Process:
        process = self.processes[name]
        if process.running:
            return process
        if process.log is None:
            process.log = process.log_path.open("ab")
        process.popen = subprocess.Popen(  # noqa: S603
            process.argv,
            env={**self.env(), **self._extra_env[name]},
            cwd=self.workdir,
            stdout=process.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill -9 reaches its children too
        )
        process.starts += 1
        return process

    def children(self, name: str) -> list[int]:
        """Process ids of the children of ``name`` (uvicorn's worker processes)."""
        process = self.processes[name]
        if not process.running or process.popen is None:
            return []
        found: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == process.popen.pid:
                    found.append(int(entry.name))
        return found

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (``kill -9`` by default) to the whole process group of ``name`` and reap it."""
        process = self.processes[name]
        if process.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.popen.pid, sig)
        try:
            process.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait(timeout=10)
        # Orphans of a killed group (a uvicorn worker between fork and setpgid) go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signal.SIGKILL)

    def stop(self, name: str) -> None:
        """Stop ``name`` gently (SIGTERM), then for good."""
        if self.processes[name].running:
            self.kill(name, signal.SIGTERM)

    async def wait_http(self, url: str, *, within: float = 60.0, process: str | None = None) -> None:
        """Wait until ``url`` answers 200 (and fail early if ``process`` died)."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        return
                if process is not None and not self.processes[process].running:
                    raise RuntimeError(f"{process} exited; see {self.processes[process].log_path}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} did not answer within {within:.0f} s")
                await asyncio.sleep(0.2)

    def close(self) -> None:
        """Stop every process this stack started, then drop its database."""
        for name in reversed(list(self.processes)):
            self.stop(name)
            process = self.processes[name]
            if process.log is not None:
                process.log.close()
                process.log = None
        self.drop_database()

    def remove_workdir(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
