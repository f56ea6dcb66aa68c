#!/usr/bin/env bash
# The ledger-vs-pgbench series of docs/performance.md ("The ledger"): a fresh ledger database and a
# pgbench TPC-B database (scale 10) on the local PostgreSQL, then PAIRS alternating 30-second runs of
# `pgbench -M prepared -c 16 -j 2` and `korpu bench ledger --workers 16`, each line with the load
# average before it; the last line is the ratio of the summed rates. Drops both databases at the end.
#
#   docs/scripts/ledger-series.sh [PAIRS] [SECONDS]      (defaults: 5 pairs of 30 s)
set -euo pipefail
pairs=${1:-5}
seconds=${2:-30}
pg=(-h 127.0.0.1 -U postgres)
korpu=${KORPU:-.venv/bin/korpu}
ledger_db=korpu_series_$$
ref_db=pgbench_series_$$
cleanup() { dropdb "${pg[@]}" --if-exists "$ledger_db"; dropdb "${pg[@]}" --if-exists "$ref_db"; }
trap cleanup EXIT
createdb "${pg[@]}" "$ledger_db"
createdb "${pg[@]}" "$ref_db"
export KORPU_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/$ledger_db"
"$korpu" db upgrade >/dev/null
pgbench "${pg[@]}" -i -s 10 -q "$ref_db" >/dev/null 2>&1
load() { cut -d' ' -f1 /proc/loadavg; }
pg_sum=0
ledger_sum=0
for pair in $(seq 1 "$pairs"); do
    before=$(load)
    tps=$(pgbench "${pg[@]}" -M prepared -c 16 -j 2 -T "$seconds" "$ref_db" 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
    echo "pair $pair pgbench: load $before tps $tps"
    before=$(load)
    json=$("$korpu" bench ledger --workers 16 --seconds "$seconds" --json | tail -1)
    rate=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["transfers_per_s"])' "$json")
    echo "pair $pair ledger:  load $before $json"
    echo "pair $pair ratio:   $(python3 -c "print(round($rate / $tps, 3))")"
    pg_sum=$(python3 -c "print($pg_sum + $tps)")
    ledger_sum=$(python3 -c "print($ledger_sum + $rate)")
done
echo "all pairs: pgbench $(python3 -c "print(round($pg_sum / $pairs))") tps, ledger" \
    "$(python3 -c "print(round($ledger_sum / $pairs))") transfers/s, ratio" \
    "$(python3 -c "print(round($ledger_sum / $pg_sum, 3))")"
