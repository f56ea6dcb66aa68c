"""Test fixtures: every database test runs on SQLite, and on PostgreSQL when KORPU_TEST_DATABASE_URL is set.

Isolation: SQLite tests each get a copy of a freshly migrated template file; PostgreSQL tests share
one database created (and migrated) for this pytest process and emptied with TRUNCATE before each
test. Migrations therefore must not insert rows: reference data comes from seeders.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.db import create_engine
from backend.migrate import upgrade
from backend.settings import Settings

PG_URL = os.environ.get("KORPU_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None:
            continue
        backend = callspec.params.get("backend")
        if backend == "sqlite" and item.get_closest_marker("postgres_only"):
            item.add_marker(pytest.mark.skip(reason="PostgreSQL-only behaviour"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("KORPU_TEST_DATABASE_URL is not set")
    name = f"korpu_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_url = make_url(PG_URL)

    async def admin(sql: str) -> None:
        engine = create_engine(admin_url.render_as_string(hide_password=False), null_pool=True)
        try:
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "korpu.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    return url


async def _truncate_all(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        rows = await connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"
            )
        )
        tables = [row[0] for row in rows]
        if tables:
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            quoted = ", ".join(f'"{name}"' for name in tables)
            await connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=10)
    if engine.dialect.name == "postgresql":
        await _truncate_all(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The dev SMS inbox is on so that HTTP tests sign in the way a developer does (tests/signin.py).
    return Settings.from_env(
        {
            "KORPU_ENV": "test",
            "KORPU_DATABASE_URL": database_url,
            "KORPU_VAR_DIR": str(tmp_path / "var"),
            "KORPU_DEV_SMS_INBOX": "1",
        }
    )


@pytest.fixture
async def live_server(settings: Settings, engine: AsyncEngine) -> AsyncIterator[str]:
    """The real app behind a real uvicorn on a loopback port; yields its base URL."""
    app = create_app(settings, engine=engine)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def http(live_server: str) -> AsyncIterator[AsyncClient]:
    """An httpx client talking real HTTP to :func:`live_server`."""
    async with AsyncClient(base_url=live_server, timeout=30) as client:
        yield client


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say, per database backend, how many tests passed: CI's log must show both."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "call") not in ("call", "setup"):
                continue
            if outcome == "passed" and report.when != "call":
                continue
            kind = "postgresql" if "[postgresql" in nodeid else "sqlite" if "[sqlite" in nodeid else None
            if kind:
                counts.setdefault(kind, {}).setdefault(outcome, 0)
                counts[kind][outcome] += 1
    for kind in BACKENDS:
        summary = counts.get(kind, {})
        terminalreporter.write_line(
            f"database backend {kind}: {summary.get('passed', 0)} passed, {summary.get('failed', 0)} failed, "
            f"{summary.get('skipped', 0)} skipped"
        )


@pytest.fixture
def make_staff(engine: AsyncEngine, settings: Settings, http: AsyncClient) -> Any:
    """``await make_staff("officer")`` creates a staff member with those roles, signs in over HTTP,
    and returns the ``Authorization`` headers for that session."""
    import pyotp

    from backend.staff.service import create_staff
    from compliance.privacy import Sealer

    counter = iter(range(1, 10_000))

    async def make(*roles: str) -> dict[str, str]:
        username = f"staff{next(counter)}-{'-'.join(roles)}"
        password = "correct horse battery staple"
        async with engine.begin() as conn:
            _, secret = await create_staff(
                conn, Sealer(settings.secrets.data_keys), username, list(roles), password
            )
        response = await http.post(
            "/backoffice/v1/auth/login",
            json={"username": username, "password": password, "totp": pyotp.TOTP(secret).now()},
        )
        assert response.status_code == 200, response.text
        http.cookies.clear()  # the session must travel in the header only, as the caller chooses
        return {"Authorization": f"Bearer {response.json()['token']}"}

    return make
