#!/usr/bin/env bash
# Does the operator's view slow intake? storeyd ingests COUNT readings (QoS 0, published live by
# storey-loadgen over POINTS points of the benchmark tower) twice in the same run:
#   reference — nobody looks;
#   watched   — 200 event-stream clients connected (benchmarks/sse-clients.py) and wrk driving the API
#               (benchmarks/api-load.lua: live state, series, topology in turn, CONNECTIONS connections,
#               each pausing 20 ms between requests) for the whole intake.
# Prints intake rates side by side, their ratio, and wrk's latency percentiles (also written to
# benchmarks/last-run-operator-view.txt).
#
#   benchmarks/operator-view.sh [COUNT] [POINTS] [CONNECTIONS]     (defaults: 300,000 readings, 1,000 points, 8)
#   STOREY_BENCH_BUILD=debug benchmarks/operator-view.sh …         (the debug build, when a release build is not at hand)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
count="${1:-300000}"
points="${2:-1000}"
connections="${3:-8}"
clients=200
work="$(mktemp -d /tmp/storey-bench-view.XXXXXX)"
port=$((20000 + RANDOM % 10000))
http=$((30000 + RANDOM % 2000))
token="bench-read-token-0123456789"

scripts/install-dependencies
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
build="${STOREY_BENCH_BUILD:-release}"
swift build -c "$build" --product storeyd >/dev/null
swift build -c "$build" --product storey >/dev/null
swift build -c "$build" --product storey-loadgen >/dev/null
bin="$(swift build -c "$build" --show-bin-path)"

python3 benchmarks/make-topology.py "$points" >"$work/topology.yaml"
echo "read $token benchmark" >"$work/tokens"
cat >"$work/storey.yaml" <<CONF
mqtt:
  url: mqtt://127.0.0.1:$port
  client_id: storeyd-bench-view
  qos: 1
database: $work/storey.db
http:
  address: 127.0.0.1:$http
  tokens_file: $work/tokens
topology: topology.yaml
CONF
"$bin/storey" topics --config "$work/storey.yaml" >"$work/topics.tsv"
cat >"$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
user $(id -un)
persistence false
CONF

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
sleep 0.5

now() { date +%s.%N; }
accepted() { curl -s "127.0.0.1:$http/metrics" | awk '/^storey_readings_accepted_total /{print $2}'; }
start_storeyd() {
  rm -f "$work"/storey.db*
  "$bin/storeyd" --config "$work/storey.yaml" 2>>"$work/storeyd.log" &
  storeyd=$!
  pids+=($storeyd)
  until curl -sf "127.0.0.1:$http/readyz" >/dev/null; do sleep 0.05; done
}
stop_storeyd() { kill "$storeyd"; wait "$storeyd" || true; }
wait_accepted() {  # until storeyd has stored $1 readings, or none more for 10 s; prints "TIME COUNT"
  local last=-1 seen changed
  changed=$(now)
  while true; do
    seen=$(accepted)
    if [[ "$seen" != "$last" ]]; then last=$seen; changed=$(now); fi
    [[ "$seen" == "$1" ]] && break
    python3 -c "import sys; sys.exit(0 if $(now) - $changed > 10 else 1)" && break
    sleep 0.05
  done
  echo "$changed $last"
}
rate() { python3 -c "print(f'{$1/($3-$2):,.0f}')"; }
results=()

# Reference: intake alone.
start_storeyd
t0=$(now)
"$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$port" --count "$count" --qos 0 >"$work/loadgen-reference.txt"
read -r t1 got <<<"$(wait_accepted "$count")"
reference=$(python3 -c "print($got/($t1-$t0))")
results+=("reference: storeyd stored $got of $count at $(rate "$got" "$t0" "$t1")/s  ($(cat "$work/loadgen-reference.txt"))")
stop_storeyd

# Watched: the same intake with 200 event-stream clients and wrk on the API.
start_storeyd
python3 benchmarks/sse-clients.py "$clients" 127.0.0.1 "$http" "$token" 600 >"$work/sse.txt" &
sse=$!
pids+=($sse)
sleep 2
STOREY_TOKEN="$token" wrk -t2 -c"$connections" -d600s --timeout 5s --latency -s benchmarks/api-load.lua "http://127.0.0.1:$http" >"$work/wrk.txt" &
wrk_pid=$!
pids+=($wrk_pid)
sleep 1
t0=$(now)
"$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$port" --count "$count" --qos 0 >"$work/loadgen-watched.txt"
read -r t1 got <<<"$(wait_accepted "$count")"
watched=$(python3 -c "print($got/($t1-$t0))")
kill -INT "$wrk_pid"; wait "$wrk_pid" || true   # wrk prints its statistics on SIGINT
kill -INT "$sse"; wait "$sse" || true
results+=("watched:   storeyd stored $got of $count at $(rate "$got" "$t0" "$t1")/s  ($(cat "$work/loadgen-watched.txt"))")
results+=("intake watched / reference: $(python3 -c "print(f'{$watched/$reference:.3f}')")")
results+=("$(cat "$work/sse.txt" 2>/dev/null || echo 'sse clients: no summary')")
results+=("wrk ($connections connections, 20 ms pause, live/series/topology): $(grep -E 'Requests/sec' "$work/wrk.txt" | xargs)")
results+=("$(awk '/Latency Distribution/{p=1} p&&/%/{printf "%s %s  ", $1, $2}' "$work/wrk.txt")")
results+=("$(grep -E 'requests in|Non-2xx|Socket errors' "$work/wrk.txt" | xargs)")
stop_storeyd

{
  echo "operator-view benchmark: $count readings over $points points, $build build, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
  echo "command: STOREY_BENCH_BUILD=$build benchmarks/operator-view.sh $count $points $connections"
  printf '%s\n' "${results[@]}"
} | tee benchmarks/last-run-operator-view.txt
