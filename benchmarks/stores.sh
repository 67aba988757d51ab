#!/usr/bin/env bash
# The reading stores side by side in one run: COUNT readings over POINTS points, in batches of BATCH, stored
# by SQLite (as storeyd opens it) and by PostgreSQL 15 (a throwaway cluster started here, with fsync and
# synchronous commit on, as a deployment would run it), through the stores alone (no MQTT).
#   benchmarks/stores.sh [COUNT] [POINTS] [BATCH]     (defaults 300,000 readings, 3,000 points, batches of 2,000)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
count=${1:-300000}; points=${2:-3000}; batch=${3:-2000}
bin=/usr/lib/postgresql/15/bin
[[ -x $bin/postgres ]] || { echo "PostgreSQL 15's server is needed: apt-get install -y postgresql-15" >&2; exit 1; }
swift build -c release --product storey-bench-stores >/dev/null
work=$(mktemp -d /tmp/storey-bench-stores.XXXXXX)
run=()
if [[ $(id -u) -eq 0 ]]; then chown postgres: "$work"; run=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi
echo bench-password >"$work/password"; chmod 644 "$work/password"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${run[@]}" "$bin/initdb" -D "$work/data" -U storey --pwfile "$work/password" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
"${run[@]}" "$bin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -o "-p $port -k $work -c listen_addresses=127.0.0.1" -w start >/dev/null
trap '"${run[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"${run[@]}" "$bin/createdb" -h "$work" -p "$port" -U storey bench
echo "stores benchmark, $(date -u +%FT%TZ), $count readings, $points points, batches of $batch; load average $(cut -d' ' -f1-3 /proc/loadavg)"
.build/release/storey-bench-stores "$count" "$points" "$batch" "postgresql://storey@127.0.0.1:$port/bench?sslmode=disable" "$work/password"
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
