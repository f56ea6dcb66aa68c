"""``korpu compliance ...`` as an operator runs it: batch scoring and screening of CSV files with
timings on stderr, and loading list versions into the database."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.screening.conftest import SANCTIONS

ROOT = Path(__file__).resolve().parents[2]


def korpu(
    *args: str, database_url: str | None = None, tmp: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KORPU_ENV": "test"}
    if database_url:
        env["KORPU_DATABASE_URL"] = database_url
    if tmp:
        env["KORPU_VAR_DIR"] = str(tmp / "var")
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "compliance", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_score_pairs_adds_score_and_decision_and_reports_metrics(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "name1,name2,label\n"
        "Əli Məmmədov,Мамедов Али,1\n"
        "Ali Mammadov,Elnur Mammadov,0\n"
        "Rashad Huseynov,Rashid Huseynov,0\n",
        encoding="utf-8",
    )
    result = korpu("score-pairs", "--in", str(pairs), "--out", str(tmp_path / "out.csv"), "--json")
    assert result.returncode == 0, result.stderr
    rows = read(tmp_path / "out.csv")
    assert [row["decision"] for row in rows] == ["match", "no_match", "review"]
    assert all(0 <= float(row["score"]) <= 1 for row in rows)
    assert rows[0]["label"] == "1"
    assert "3 names in" in result.stderr
    assert "p50" in result.stderr
    assert "p95" in result.stderr
    assert "review threshold 0.75: precision 0.500, recall 1.000" in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["count"] == 3
    assert summary["metrics"]["hit"]["precision"] == 1.0


def test_screen_batch_screens_people_against_list_files(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "full_name,date_of_birth,nationality\n"
        "Elvis Angus Logan Morey,1963-07-28,\n"
        "Рашад Вагиф оглы Гусейнов,,AZ\n"
        "Aynur Guliyeva,1990-05-05,AZ\n",
        encoding="utf-8",
    )
    result = korpu(
        "screen-batch",
        "--list", f"ofac-csv:{SANCTIONS / 'ofac-sdn-tiny'}",
        "--list", f"un-xml:{SANCTIONS / 'un-consolidated-2026-02-27.xml'}",
        "--list", f"pep-csv:{SANCTIONS / 'pep-sample.csv'}",
        "--in", str(people),
        "--out", str(tmp_path / "results.csv"),
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = read(tmp_path / "results.csv")
    assert [row["decision"] for row in rows] == ["hit", "hit", "clear"]
    assert (rows[0]["matched_list"], rows[0]["matched_id"]) == ("ofac-sdn", "10278")
    assert rows[0]["matched_name"] == "LOGAN MOREY, Elvis Angus"
    assert (rows[1]["matched_list"], rows[1]["matched_id"]) == ("pep-local", "pep-001")
    assert rows[2]["matched_list"] == ""
    assert "3 names in" in result.stderr
    assert "alert rate 66.67%" in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["decisions"] == {"clear": 1, "review": 0, "hit": 2}
    assert summary["lists"] == ["ofac-sdn", "pep-local", "un-sc"]


def test_lists_load_and_show_with_sanity_checks(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    tiny = f"ofac-csv:{SANCTIONS / 'ofac-sdn-tiny'}"
    first = korpu("lists", "load", tiny, "--by", "ops", database_url=database_url, tmp=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "ofac-sdn: version 1 stored (17 entries)" in first.stdout
    assert "re-screening job 1: 0 customers and payees against ofac-sdn v1" in first.stdout
    again = korpu("lists", "load", tiny, database_url=database_url, tmp=tmp_path)
    assert "ofac-sdn: unchanged, version 1 stays current" in again.stdout
    assert "re-screening not due" in again.stdout
    # The full 2021 SDN list is a new version; then the tiny one would be a shrink of 99.8%.
    full = korpu(
        "lists",
        "load",
        f"ofac-csv:{SANCTIONS / 'ofac-sdn-2021'}",
        "--no-rescreen",
        database_url=database_url,
        tmp=tmp_path,
    )
    assert "ofac-sdn: version 2 stored (8976 entries, was 17)" in full.stdout
    refused = korpu("lists", "load", tiny, database_url=database_url, tmp=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith(
        "korpu: error: ofac-sdn: the new list has 17 entries against 8976"
    )
    assert "Traceback" not in refused.stderr
    shown = korpu("lists", "show", database_url=database_url, tmp=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "ofac-sdn     version 2" in shown.stdout
    assert "8976 entries" in shown.stdout
    assert "re-screening due: yes" in shown.stdout
    bad = korpu(
        "lists", "load", f"un-xml:{tmp_path / 'missing.xml'}", database_url=database_url, tmp=tmp_path
    )
    assert bad.returncode == 1
    assert "does not exist" in bad.stderr
