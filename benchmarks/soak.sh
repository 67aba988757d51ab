#!/usr/bin/env bash
# Memory over a soak: storeyd receiving a steady stream (storey-loadgen --live --rate, readings stamped as
# meters stamp them) over POINTS points for MINUTES, its resident memory sampled every minute. Beside it,
# in the same run, mosquitto_sub subscribed to the same stream (the C client's footprint, which should not
# move) and the broker. Flat is the target: what grows is a leak or an unbounded cache.
#
#   benchmarks/soak.sh [MINUTES] [RATE] [POINTS]      (defaults: 60 minutes, 2,000 readings/s, 100,000 points)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
minutes="${1:-60}"; rate="${2:-2000}"; points="${3:-100000}"
work="$(mktemp -d /tmp/storey-soak.XXXXXX)"
port=$((20000 + RANDOM % 20000)); http=$((40000 + RANDOM % 20000))
for product in storeyd storey storey-loadgen; do swift build -c release --product "$product" >/dev/null 2>&1; done
bin="$(swift build -c release --show-bin-path)"
python3 benchmarks/make-topology.py "$points" >"$work/topology.yaml"
cat >"$work/storey.yaml" <<CONF
mqtt:
  url: mqtt://127.0.0.1:$port
  client_id: storeyd-soak
  qos: 1
database: $work/storey.db
http:
  address: 127.0.0.1:$http
topology: topology.yaml
CONF
"$bin/storey" topics --config "$work/storey.yaml" >"$work/topics.tsv"
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser %s\nmax_queued_messages 0\n' "$port" "$(id -un)" >"$work/mosquitto.conf"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 & broker=$!; pids+=($broker)
sleep 0.5
"$bin/storeyd" --config "$work/storey.yaml" 2>"$work/storeyd.log" & storeyd=$!; pids+=($storeyd)
until curl -sf "127.0.0.1:$http/readyz" >/dev/null; do sleep 0.1; done
mosquitto_sub -p "$port" -t 'bench/#' -q 1 >/dev/null & sub=$!; pids+=($sub)
"$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$port" --count $((rate * minutes * 60)) --qos 1 --live --rate "$rate" \
  >"$work/loadgen.txt" & loadgen=$!; pids+=($loadgen)
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
accepted() { curl -s "127.0.0.1:$http/metrics" | awk '/^storey_readings_accepted_total /{printf "%d", $2}'; }
out="benchmarks/last-run-soak.txt"
{
  echo "soak: $minutes min at $rate readings/s (QoS 1, live stamps) over $points points, release build, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
  echo "command: benchmarks/soak.sh $minutes $rate $points"
  echo "minute  storeyd_rss_mb  mosquitto_sub_rss_mb  broker_rss_mb  stored"
} | tee "$out"
for minute in $(seq 0 "$minutes"); do
  printf '%6d  %14s  %20s  %13s  %s\n' "$minute" "$(rss $storeyd)" "$(rss $sub)" "$(rss $broker)" "$(accepted)" | tee -a "$out"
  [[ $minute -lt $minutes ]] && sleep 60
done
wait "$loadgen" || true
echo "loadgen: $(cat "$work/loadgen.txt"); storeyd peak RSS $(awk '/VmHWM/{printf "%.0f", $2/1024}' /proc/$storeyd/status) MB" | tee -a "$out"
