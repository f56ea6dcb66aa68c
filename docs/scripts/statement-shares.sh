#!/bin/bash
# PostgreSQL's execution time per statement over the measured load of `korpu bench e2e`
# (creation alone, or the whole flow with `whole`), per created transfer, from pg_stat_statements;
# and the rows each table took.
#
# Needs pg_stat_statements loaded by the server, which takes a restart (undo both afterwards with
# `ALTER SYSTEM RESET shared_preload_libraries` and another restart):
#   psql -h 127.0.0.1 -U postgres -c "ALTER SYSTEM SET shared_preload_libraries='pg_stat_statements'"
#   pg_ctlcluster 15 main restart
#   psql -h 127.0.0.1 -U postgres -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
# Run from the repository root: docs/scripts/statement-shares.sh [SECONDS] [whole]
# Session 12's figures are in docs/performance.md ("Where a transfer's CPU goes").
set -euo pipefail
SECONDS_OF_LOAD=${1:-20}
FLOW=(--payouts-after)
[ "${2:-}" = whole ] && FLOW=()
PSQL=(psql -h 127.0.0.1 -U postgres -X)
"${PSQL[@]}" -Atc "select 1 from pg_stat_statements limit 1" >/dev/null \
  || { echo "pg_stat_statements is not loaded (see the comment at the top)" >&2; exit 2; }
env -u KORPU_ENV .venv/bin/korpu bench e2e --json --seconds "$SECONDS_OF_LOAD" --warmup 3 \
  --pgbench-seconds 0 "${FLOW[@]}" > /tmp/statement-shares.out 2>/tmp/statement-shares.err &
bench=$!
# The warm-up's wrk, then the measured one: reset the counters as the measured load starts.
until pgrep -x wrk >/dev/null; do sleep 0.2; done
while pgrep -x wrk >/dev/null; do sleep 0.1; done
until pgrep -x wrk >/dev/null; do sleep 0.1; done
db=$("${PSQL[@]}" -Atc "select datname from pg_database where datname like 'korpu_e2e%' limit 1")
"${PSQL[@]}" -Atc "select pg_stat_statements_reset()" >/dev/null
"${PSQL[@]}" -d "$db" -Atc "select pg_stat_reset()" >/dev/null
while pgrep -x wrk >/dev/null; do sleep 0.1; done
created=$("${PSQL[@]}" -d "$db" -Atc "select n_tup_ins from pg_stat_user_tables where relname = 'transfers'")
echo "transfers created while counting: $created"
echo "ms of execution per transfer | calls per transfer | WAL records per transfer | statement"
"${PSQL[@]}" -F' | ' -Atc "
  select round((total_exec_time / $created)::numeric, 3), round((calls::numeric / $created), 2),
         round((wal_records::numeric / $created), 1), left(regexp_replace(query, '\s+', ' ', 'g'), 90)
    from pg_stat_statements where dbid = (select oid from pg_database where datname = '$db')
   order by total_exec_time desc limit 25"
echo "rows per transfer | table (inserted + updated)"
"${PSQL[@]}" -d "$db" -F' | ' -Atc "
  select round(((n_tup_ins + n_tup_upd)::numeric / $created), 2), relname from pg_stat_user_tables
   where n_tup_ins + n_tup_upd > 0 order by 1 desc"
wait "$bench"
tail -1 /tmp/statement-shares.out | cut -c1-200
