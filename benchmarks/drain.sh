#!/usr/bin/env bash
# One QoS 0 drain into storeyd alone (no reference consumer): COUNT readings queued in storeyd's
# persistent session while it was stopped, then timed from /healthz until all are stored. Quicker than
# intake.sh for trying a change; `perf` records the drain (report with `perf report -i benchmarks/perf.data`).
#
#   benchmarks/drain.sh [COUNT] [POINTS] [perf]      (defaults: 400,000 readings over 1,000 points)
#   STAMP_INTERVAL=10   seconds between one point's readings (default 60); BUFFERED=N max_buffered_messages
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
count="${1:-400000}"; points="${2:-1000}"; mode="${3:-}"
work="$(mktemp -d /tmp/storey-drain.XXXXXX)"
port=$((20000 + RANDOM % 20000)); http=$((40000 + RANDOM % 20000))
for product in storeyd storey storey-loadgen; do swift build -c release --product "$product" >/dev/null; done
bin="$(swift build -c release --show-bin-path)"
python3 benchmarks/make-topology.py "$points" >"$work/topology.yaml"
cat >"$work/storey.yaml" <<CONF
mqtt:
  url: mqtt://127.0.0.1:$port
  client_id: storeyd-bench
  qos: 1
  receive_maximum: 1000
database: $work/storey.db
http:
  address: 127.0.0.1:$http
topology: topology.yaml
intake:
  max_buffered_messages: ${BUFFERED:-10000}
CONF
"$bin/storey" topics --config "$work/storey.yaml" >"$work/topics.tsv"
cat >"$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
user $(id -un)
max_queued_messages 0
max_queued_bytes 0
queue_qos0_messages true
persistence false
CONF
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 & pids+=($!)
sleep 0.5
accepted() { curl -s "127.0.0.1:$http/metrics" | awk '/^storey_readings_accepted_total /{print $2}'; }
"$bin/storeyd" --config "$work/storey.yaml" 2>>"$work/storeyd.log" & storeyd=$!
until curl -sf "127.0.0.1:$http/readyz" >/dev/null; do sleep 0.05; done
kill $storeyd; wait $storeyd || true
"$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$port" --count "$count" --qos 0 --interval "${STAMP_INTERVAL:-60}" >/dev/null
"$bin/storeyd" --config "$work/storey.yaml" 2>>"$work/storeyd.log" & storeyd=$!; pids+=($storeyd)
until curl -sf "127.0.0.1:$http/healthz" >/dev/null; do sleep 0.01; done
t1=$(date +%s.%N)
if [[ "$mode" == perf ]]; then perf record -F 299 -g -p $storeyd -o benchmarks/perf.data 2>/dev/null & perfpid=$!; fi
until [[ "$(accepted)" == "$count" ]]; do sleep 0.05; done
t2=$(date +%s.%N)
if [[ "$mode" == perf ]]; then kill -INT $perfpid; wait $perfpid || true; fi
python3 -c "print(f'drain of {$count} readings over $points points, every ${STAMP_INTERVAL:-60} s: {$t2-$t1:.2f} s, {$count/($t2-$t1):,.0f}/s')"
awk '/VmHWM/{printf "storeyd peak RSS %.0f MB\n", $2/1024}' /proc/$storeyd/status
