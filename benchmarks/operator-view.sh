#!/usr/bin/env bash
# Does the operator's view slow intake? storeyd ingests readings (QoS 0, published by storey-loadgen over
# POINTS points of the benchmark tower) with nobody looking (reference) and with the view under load
# (watched: 200 event-stream clients connected by benchmarks/sse-clients.py, reading everything, and wrk
# driving the API — benchmarks/api-load.lua: live state, series, topology in turn, CONNECTIONS connections,
# each pausing 20 ms between requests and asking again with the tag it holds, as a browser does — for the
# whole intake). Two loads, each reference then watched:
#   stress — COUNT readings stamped one minute apart per round: 30 minutes of data a second, so minute
#            windows close many times a second and the stream carries far more than a live tower makes;
#   live   — readings stamped now (as meters do) for about LIVE_SECONDS of intake at full speed (the count
#            is the stress reference's rate × LIVE_SECONDS), so windows close at their real pace.
# Prints intake rates side by side, their ratios, wrk's latency percentiles and the stream clients'
# totals for both loads (also written to benchmarks/last-run-operator-view.txt), with the load average.
#
#   benchmarks/operator-view.sh [COUNT] [POINTS] [CONNECTIONS] [LIVE_SECONDS]   (defaults: 300,000 readings, 1,000 points, 8, 75)
#   STOREY_BENCH_BUILD=debug benchmarks/operator-view.sh …         (the debug build, when a release build is not at hand)
#   STOREY_BENCH_LOADS=live benchmarks/operator-view.sh …          (one load only: stress or live)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
count="${1:-300000}"
points="${2:-1000}"
connections="${3:-8}"
live_seconds="${4:-75}"
loads="${STOREY_BENCH_LOADS:-stress live}"
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

# One load, twice: reference (intake alone), then watched. $1: stress or live; $2: readings.
run_load() {
  local load=$1 n=$2 flags=() t0 t1 got reference watched
  [[ $load == live ]] && flags=(--live)
  start_storeyd
  t0=$(now)
  "$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$port" --count "$n" --qos 0 "${flags[@]}" >"$work/loadgen-$load-reference.txt"
  read -r t1 got <<<"$(wait_accepted "$n")"
  reference=$(python3 -c "print($got/($t1-$t0))")
  reference_rate[$load]=$reference
  results+=("$load reference: storeyd stored $got of $n in $(python3 -c "print(f'{$t1-$t0:.1f}')") s at $(rate "$got" "$t0" "$t1")/s  ($(cat "$work/loadgen-$load-reference.txt"))")
  stop_storeyd

  start_storeyd
  python3 benchmarks/sse-clients.py "$clients" 127.0.0.1 "$http" "$token" 900 >"$work/sse-$load.txt" &
  local sse=$!
  pids+=($sse)
  sleep 2
  STOREY_TOKEN="$token" wrk -t"$connections" -c"$connections" -d900s --timeout 5s --latency -s benchmarks/api-load.lua "http://127.0.0.1:$http" >"$work/wrk-$load.txt" &
  local wrk_pid=$!
  pids+=($wrk_pid)
  sleep 1
  t0=$(now)
  "$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$port" --count "$n" --qos 0 "${flags[@]}" >"$work/loadgen-$load-watched.txt"
  read -r t1 got <<<"$(wait_accepted "$n")"
  watched=$(python3 -c "print($got/($t1-$t0))")
  local streamed
  streamed=$(curl -s "127.0.0.1:$http/metrics" | awk '/^storey_event_stream_(clients|clients_dropped_total) /{printf "%s=%s ", $1, $2}')
  kill -INT "$wrk_pid"; wait "$wrk_pid" || true   # wrk prints its statistics on SIGINT
  kill -INT "$sse"; wait "$sse" || true
  results+=("$load watched:   storeyd stored $got of $n in $(python3 -c "print(f'{$t1-$t0:.1f}')") s at $(rate "$got" "$t0" "$t1")/s  ($(cat "$work/loadgen-$load-watched.txt"))")
  results+=("$load intake watched / reference: $(python3 -c "print(f'{$watched/$reference:.3f}')")")
  results+=("$load $(cat "$work/sse-$load.txt" 2>/dev/null || echo 'sse clients: no summary'); storeyd /metrics at the end: $streamed")
  results+=("$load wrk ($connections connections, 20 ms pause, live/series/topology): $(grep -E 'Requests/sec' "$work/wrk-$load.txt" | xargs)")
  results+=("$load wrk latency: $(awk '/Latency Distribution/{p=1} p&&/%/{printf "%s %s  ", $1, $2}' "$work/wrk-$load.txt")")
  results+=("$load wrk: $(grep -E 'requests in|Non-2xx|Socket errors|304 Not Modified' "$work/wrk-$load.txt" | xargs)")
  results+=("$load load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)")
  stop_storeyd
}

declare -A reference_rate
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for load in $loads; do
  case $load in
    stress) run_load stress "$count" ;;
    live)
      # About LIVE_SECONDS of intake at the rate this machine just showed (a first guess without it).
      live_count=$(python3 -c "print(int(${reference_rate[stress]:-20000} * $live_seconds))")
      run_load live "$live_count" ;;
    *) echo "unknown load $load (stress or live)" >&2; exit 2 ;;
  esac
done

{
  echo "operator-view benchmark: $count stress readings and ~${live_seconds} s of live ones over $points points, $build build, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average before: $load_before"
  echo "command: STOREY_BENCH_BUILD=$build STOREY_BENCH_LOADS=\"$loads\" benchmarks/operator-view.sh $count $points $connections $live_seconds"
  printf '%s\n' "${results[@]}"
} | tee benchmarks/last-run-operator-view.txt
