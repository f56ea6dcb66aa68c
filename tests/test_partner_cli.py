"""The operators' commands: a partner created from the command line can sign requests with the key it
printed once; the demo seeder is repeatable; settlement and outbox commands report in JSON."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from backend.cli import cli
from backend.settings import Settings
from tests.partner_support import partner_keys


@pytest.fixture
def env(tmp_path: Path, sqlite_template: Path) -> dict[str, str]:
    database = tmp_path / "korpu.sqlite3"
    shutil.copyfile(sqlite_template, database)
    return {
        "KORPU_ENV": "dev",
        "KORPU_VAR_DIR": str(tmp_path / "var"),
        "KORPU_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }


def korpu(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def printed(output: str, label: str) -> str:
    found = re.search(rf"{label}:\s+(\S+)", output)
    assert found is not None, output
    return found[1]


def test_create_prints_working_credentials_once_and_rotation_issues_new_ones(env: dict[str, str]) -> None:
    output = korpu(env, "partners", "create", "--code", "kapital", "--name", "Kapital Bank", "--mode", "pull")
    key_id, secret = printed(output, "api key id"), printed(output, "api secret")
    assert printed(output, "webhook secret").startswith("whsec_")
    assert (
        partner_keys(Settings.from_env(env)).api_secret(key_id) == secret
    )  # the printed secret is the one requests are checked against

    rotated = korpu(env, "partners", "rotate-key", key_id, "--grace-hours", "1")
    assert f"old key {key_id} expires at" in rotated
    korpu(env, "partners", "revoke-key", key_id)
    listing = json.loads(korpu(env, "partners", "list"))
    assert [k["revokedAt"] is not None for k in listing[0]["keys"]] == [True, False]
    assert secret not in korpu(env, "partners", "list")


def test_the_demo_seeder_is_repeatable_and_prints_the_dev_key(env: dict[str, str]) -> None:
    first = korpu(env, "demo", "seed")
    second = korpu(env, "demo", "seed")
    assert "Kapital Demo (kapital-demo) created" in first
    assert "Kapital Demo (kapital-demo) present" in second
    key = re.findall(r"dev API key id (\S+) secret (\S+)", first + second)
    assert len(key) == 2
    assert key[0] == key[1]


def test_ops_commands_answer_in_json(env: dict[str, str]) -> None:
    korpu(env, "demo", "seed")
    assert json.loads(korpu(env, "outbox", "list"))["counts"] == {"pending": 0, "delivered": 0, "dead": 0}
    assert json.loads(korpu(env, "settlement", "close", "--due")) == []
    assert json.loads(korpu(env, "settlement", "windows")) == []
    result = CliRunner().invoke(cli, ["outbox", "redrive", "msg_nope"], env=env)
    assert result.exit_code == 1
    assert "korpu: error: no outbox event msg_nope" in result.output
