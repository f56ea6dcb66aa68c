"""The operator's fx commands: an offline rate refresh from a file, and the quote benchmark."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.fx_support import DATA

ROOT = Path(__file__).resolve().parent.parent


def _korpu(*args: str, database: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KORPU_ENV": "test",
        "KORPU_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "KORPU_VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_refresh_from_a_file_stores_the_bulletin_once(sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "korpu.sqlite3"
    shutil.copyfile(sqlite_template, database)
    cbar = str(DATA / "cbar-30.10.2018.xml")
    first = _korpu(
        "fx", "refresh", "--source", "cbar", "--file", cbar, "--json", database=database, tmp_path=tmp_path
    )
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.strip().splitlines()[-1]) == {
        "source": "cbar",
        "read": 1,
        "stored": 1,
        "duplicates": 0,
        "conflicts": 0,
        "newest": "2018-10-30",
    }
    second = _korpu("fx", "refresh", "--source", "cbar", "--file", cbar, database=database, tmp_path=tmp_path)
    assert second.stdout.strip() == "cbar: read 1, stored 0, duplicates 1, conflicts 0, newest 2018-10-30"


def test_refresh_of_an_unreadable_file_fails_with_one_line(sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "korpu.sqlite3"
    shutil.copyfile(sqlite_template, database)
    head = str(DATA / "cbar-04.09.2026-head-fragment.xml.txt")
    result = _korpu("fx", "refresh", "--source", "cbar", "--file", head, database=database, tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("korpu: error: cbar: the CBAR bulletin is not well-formed XML")
    assert "Traceback" not in result.stderr


def test_bench_quotes_prints_one_json_object_last(tmp_path: Path) -> None:
    result = _korpu(
        "bench",
        "quotes",
        "--seconds",
        "0.2",
        "--json",
        database=tmp_path / "unused.sqlite3",
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "quotes"
    assert figures["quotesPerSecond"] > 0
    assert figures["referencePerSecond"] > 0
    assert 0 < figures["fixedSendToReferenceRatio"] <= 1
