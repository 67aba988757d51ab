#!/usr/bin/env bash
# The estate on PostgreSQL against one storeyd on SQLite, in one run: COUNT QoS 1 readings over POINTS
# points in six buildings, queued while the consumers were away, then drained. Four ways, each from a
# fresh database and broker sessions of its own:
#   sqlite  — one storeyd on its SQLite file (one MQTT session, its intake journal);
#   pg×1    — one storeyd on PostgreSQL 15 holding all six shards (six sessions, acknowledging only what
#             PostgreSQL committed);
#   pg×2, pg×3 — two or three instances, three or two shards each.
# PostgreSQL is a throwaway cluster started here (fsync and synchronous commit on, as a deployment runs it).
# Everything shares the machine's cores: the broker, PostgreSQL and every instance.
#
#   benchmarks/estate.sh [COUNT] [POINTS]      (defaults: 200,000 readings over 6,000 points; the output is
#                                              also written to benchmarks/last-run-estate.txt)
#   STAMP_INTERVAL=60 …                        seconds between one point's readings (default 10)
source "$(dirname "$0")/lib.sh"
count="${1:-200000}"; points="${2:-6000}"; interval="${STAMP_INTERVAL:-10}"
exec > >(tee benchmarks/last-run-estate.txt)
pg=/usr/lib/postgresql/15/bin
[[ -x $pg/postgres ]] || { echo "PostgreSQL 15's server is needed: apt-get install -y postgresql-15" >&2; exit 1; }
started_load="$(cut -d' ' -f1-3 /proc/loadavg)"
bench_setup storey-estate storeyd storey storey-loadgen
bench_broker 'max_queued_messages 0' 'max_queued_bytes 0' 'memory_limit 0' 'persistence false'

# PostgreSQL, as the benchmark's own cluster (run as the postgres user when this runs as root).
run=()
if [[ $(id -u) -eq 0 ]]; then chown postgres: "$work"; run=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi
echo bench-password >"$work/db-password"; chmod 644 "$work/db-password"
pgport=$(bench_port)
"${run[@]}" "$pg/initdb" -D "$work/pgdata" -U storey --pwfile "$work/db-password" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
"${run[@]}" "$pg/pg_ctl" -D "$work/pgdata" -l "$work/postgres.log" -o "-p $pgport -k $work -c listen_addresses=127.0.0.1 -c max_connections=200" -w start >/dev/null
pg_stop() { "${run[@]}" "$pg/pg_ctl" -D "$work/pgdata" -m immediate stop >/dev/null 2>&1 || true; }
trap 'pg_stop; bench_cleanup' EXIT
psql_at() { "${run[@]}" "$pg/psql" -h "$work" -p "$pgport" -U storey -d "$1" -Atc "$2"; }

python3 benchmarks/make-topology.py "$points" 6 >"$work/topology.yaml"
shards="$(for b in 0 1 2 3 4 5; do echo "      - { name: s$b, buildings: [b$b] }"; done)"

# storey.yaml for one consumer: NAME, then the storage section ("" for SQLite).
write_config() {
  cat >"$work/$1.yaml" <<CONF
mqtt:
  url: mqtt://127.0.0.1:$mqtt
  client_id: $2
  version: 5
  qos: 1
database: $work/$1/storey.db
http:
  address: 127.0.0.1:$3
topology: topology.yaml
$4
CONF
  mkdir -p "$work/$1"; [[ ${#run[@]} -eq 0 ]] || chown postgres: "$work/$1"
}

now() { echo "$EPOCHREALTIME"; }
# CPU seconds used so far by the PostgreSQL server's processes still running (postmaster, background
# workers, the consumers' backends).
pg_cpu() { for p in $(pgrep -u postgres -x postgres); do awk '{print ($14 + $15) / 100}' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $1} END {printf "%.1f", s}'; }
declare -A port_of
# Starts the consumers named, waits until each answers /readyz. Sets $started (their pids).
start_all() {
  started=()
  for name in "$@"; do
    "$bin/storeyd" --config "$work/$name.yaml" 2>>"$work/$name.log" & started+=($!); pids+=($!)
  done
  for name in "$@"; do until curl -sf "127.0.0.1:${port_of[$name]}/readyz" >/dev/null; do sleep 0.05; done; done
}
stop_all() { for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; for pid in "${started[@]}"; do wait "$pid" 2>/dev/null || true; done; }
sum_metric() {  # METRIC NAME… : the metric summed over the consumers named
  local total=0 value
  for name in "${@:2}"; do
    value=$(curl -s --max-time 2 "127.0.0.1:${port_of[$name]}/metrics" | awk -v m="$1" '$1 == m {printf "%d", $2}')
    total=$((total + ${value:-0}))
  done
  echo "$total"
}

# One way: LABEL, then the consumer names (their configurations written already). Their sessions are
# made, they stop, the backlog is published, they start again and drain it.
measure() {
  local label=$1; shift
  start_all "$@"
  if [[ "$label" != sqlite ]]; then
    # Every shard held and subscribed (a session per shard) before they stop.
    until [[ "$(sum_metric storey_shards_held "$@")" -ge 6 ]]; do sleep 0.1; done
    for name in "$@"; do until curl -sf "127.0.0.1:${port_of[$name]}/readyz" >/dev/null; do sleep 0.05; done; done
  fi
  stop_all
  "$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$mqtt" --count "$count" --qos 1 --interval "$interval" >"$work/loadgen-$label.txt"
  local t0 t1 cpu=0 rss="" pg0 pg1 wal0=""
  pg0=$(pg_cpu)
  [[ "$label" == sqlite ]] || wal0=$(psql_at "$database" 'SELECT pg_current_wal_lsn()')
  t0=$(now)
  start_all "$@"
  until [[ "$(sum_metric storey_readings_accepted_total "$@")" -ge "$count" ]]; do
    sleep 0.05
    python3 -c "import sys; sys.exit(0 if $(now) - $t0 < 600 else 1)" || { echo "$label: gave up after 600 s" >&2; break; }
  done
  t1=$(now)
  pg1=$(pg_cpu)
  for pid in "${started[@]}"; do
    cpu=$(awk -v c="$cpu" '{printf "%.1f", c + ($14 + $15) / 100}' "/proc/$pid/stat")
    rss+="$(awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$pid/status") "
  done
  stop_all
  local stored size
  if [[ "$label" == sqlite ]]; then
    stored=$(sqlite3 "$work/sqlite/storey.db" 'SELECT count(*) FROM reading')
    size=$(du -cb "$work/sqlite/storey.db"* | awk 'END {printf "%.0f", $1 / 1048576}')
  else
    stored=$(psql_at "$database" 'SELECT count(*) FROM reading')
    size=$(psql_at "$database" "SELECT round(pg_database_size(current_database()) / 1048576.0) || ' MB; WAL ' || round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0') / $count) || ' B a reading'")
  fi
  python3 - "$label" "$count" "$t0" "$t1" "$stored" "$cpu" "$rss" "$pg0" "$pg1" "$size" <<'PY' | tee -a "$work/results.txt"
import sys
label, count, t0, t1, stored, cpu, rss = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], float(sys.argv[6]), sys.argv[7].split()
server = "" if label == "sqlite" else f"  PostgreSQL CPU {float(sys.argv[9]) - float(sys.argv[8]):.1f} s (at least: backends that ended are not counted)"
print(f"{label:7} drain {t1 - t0:6.1f} s from start  {count / (t1 - t0):8,.0f}/s  stored {stored} of {count}  storeyd CPU {cpu:.1f} s  peak RSS {' + '.join(rss)} MB{server}  database {sys.argv[10]}{'' if label != 'sqlite' else ' MB'}")
PY
}

http_sqlite=$(bench_port); port_of[sqlite]=$http_sqlite
write_config sqlite storeyd-estate-sqlite "$http_sqlite" ""
"$bin/storey" topics --config "$work/sqlite.yaml" >"$work/topics.tsv"

echo "estate benchmark: $count QoS 1 readings over $points points in 6 buildings (one shard each), one per point every $interval s of data time, $(date -u +%FT%RZ), $(nproc) cores, load average $started_load at the start"
measure sqlite sqlite

for instances in 1 2 3; do
  database="estate$instances"
  psql_at postgres "CREATE DATABASE $database" >/dev/null
  per=$((6 / instances)); names=()
  for ((i = 0; i < instances; i++)); do
    name="pg$instances-$i"; names+=("$name"); port_of[$name]=$(bench_port)
    owns=$(seq -s, $((i * per)) $((i * per + per - 1)) | sed 's/\([0-9]\+\)/s\1/g')
    write_config "$name" "storeyd-estate-$instances" "${port_of[$name]}" "storage:
  postgresql:
    url: postgresql://storey@127.0.0.1:$pgport/$database?sslmode=disable
    password_file: $work/db-password
    instance: $name
    shards:
$shards
    owns: [$owns]"
  done
  measure "pg×$instances" "${names[@]}"
done
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
