"""The service foundation as an operator and a client see it: health, readiness, OpenAPI, errors,
request ids, configuration errors, and a migrated schema that matches the code."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend import migrate
from backend.schema import all_metadata
from backend.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parent.parent


async def test_health_answers_ok(http: AsyncClient) -> None:
    response = await http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response.headers["x-request-id"]) >= 8


async def test_ready_reports_current_migrations(http: AsyncClient) -> None:
    response = await http.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json()["migrations"] == "current"


async def test_the_readiness_probe_reads_the_migration_scripts_once(
    http: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading the scripts cost ~30 ms of CPU per probe: an unauthenticated way to load the server."""
    loads: list[object] = []
    real = migrate.ScriptDirectory.from_config

    def counted(config: Any) -> Any:
        loads.append(config)
        return real(config)

    monkeypatch.setattr(migrate.ScriptDirectory, "from_config", counted)
    migrate.head_revision.cache_clear()
    for _ in range(3):
        response = await http.get("/ready")
        assert response.json()["migrations"] == "current"
    assert len(loads) == 1


async def test_request_id_is_echoed_when_supplied(http: AsyncClient) -> None:
    response = await http.get("/health", headers={"X-Request-ID": "abc12345-from-client"})
    assert response.headers["x-request-id"] == "abc12345-from-client"


async def test_openapi_document_is_3_1(http: AsyncClient) -> None:
    response = await http.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert "/health" in document["paths"]


async def test_unknown_route_is_problem_json_with_code(http: AsyncClient) -> None:
    response = await http.get("/no/such/thing", headers={"X-Request-ID": "trace-me-123"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "not_found"
    assert body["status"] == 404
    assert body["requestId"] == "trace-me-123"


async def test_wrong_method_is_problem_json(http: AsyncClient) -> None:
    response = await http.delete("/health")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


async def test_migrated_schema_matches_the_code(engine: AsyncEngine) -> None:
    def diff(sync_connection: object) -> list[object]:
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, all_metadata()))  # type: ignore[arg-type]

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


def test_prod_without_secrets_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="missing secret in prod: set KORPU_SECRET_KEY"):
        Settings.from_env({"KORPU_ENV": "prod"})


def test_unparseable_database_url_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="not a database URL"):
        Settings.from_env({"KORPU_ENV": "test", "KORPU_DATABASE_URL": "::nonsense::"})


def test_retired_ledger_keys_are_read_and_checked(tmp_path: Path) -> None:
    key = base64.urlsafe_b64encode(bytes(range(32))).decode()
    environ = {"KORPU_ENV": "test", "KORPU_VAR_DIR": str(tmp_path)}
    settings = Settings.from_env({**environ, "KORPU_LEDGER_RETIRED_PUBLIC_KEYS": f"{key}, {key}"})
    assert settings.ledger_retired_public_keys == (bytes(range(32)),) * 2
    with pytest.raises(ConfigError, match="KORPU_LEDGER_RETIRED_PUBLIC_KEYS must decode to 32 bytes"):
        Settings.from_env({**environ, "KORPU_LEDGER_RETIRED_PUBLIC_KEYS": "c2hvcnQ="})


def test_dev_secrets_are_generated_once_and_kept(tmp_path: Path) -> None:
    environ = {"KORPU_ENV": "dev", "KORPU_VAR_DIR": str(tmp_path)}
    first = Settings.from_env(environ).secrets
    second = Settings.from_env(environ).secrets
    assert first == second
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600


def _korpu(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"KORPU_ENV": "prod"}, "korpu: error: missing secret in prod"),
        (
            {"KORPU_ENV": "test", "KORPU_DATABASE_URL": "mysql://x"},
            "korpu: error: KORPU_DATABASE_URL must use",
        ),
        ({"KORPU_ENV": "test", "KORPU_PORT": "eighty"}, "korpu: error: KORPU_PORT must be a whole number"),
    ],
)
def test_bad_configuration_stops_serve_with_one_line(env: dict[str, str], expected: str) -> None:
    result = _korpu("serve", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(expected)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_port_in_use_stops_serve_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _korpu(
            "serve", env={"KORPU_ENV": "test", "KORPU_PORT": str(port), "KORPU_VAR_DIR": str(tmp_path)}
        )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"korpu: error: port {port} on 127.0.0.1 is already in use; set KORPU_PORT or stop the other server"
    )


def test_log_lines_are_json_with_the_request_id() -> None:
    import json
    import logging

    from backend.logs import JsonFormatter, request_id_var

    token = request_id_var.set("req-12345678")
    try:
        record = logging.makeLogRecord(
            {
                "name": "korpu.test",
                "levelno": 20,
                "levelname": "INFO",
                "msg": "transfer created",
                "transferId": "t-1",
            }
        )
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["requestId"] == "req-12345678"
    assert line["msg"] == "transfer created"
    assert line["transferId"] == "t-1"


async def test_metrics_expose_request_latency(http: AsyncClient) -> None:
    await http.get("/schema/openapi.json")
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert "korpu_request_duration_seconds" in response.text
    assert "korpu_outbox_lag_seconds" in response.text
