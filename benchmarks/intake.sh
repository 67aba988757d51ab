#!/usr/bin/env bash
# End-to-end intake benchmark: storeyd (decode, aggregate, store everything in SQLite) against
# mosquitto_sub (the C client's ceiling, decoding nothing) on the same stream, in the same run.
#
#   benchmarks/intake.sh [COUNT] [POINTS]      (defaults: 1,000,000 readings over 100,000 points)
#   STAMP_INTERVAL=10 benchmarks/intake.sh …     seconds between one point's readings (default 60: every
#                                                reading opens a minute row of its own, the worst case)
#
# For QoS 0 and 1, two ways:
#   live  — both consumers subscribed while storey-loadgen publishes (publisher, broker and consumers share
#           the two cores, so the publisher limits everyone);
#   drain — COUNT readings queued in each consumer's persistent session while it was away, then drained:
#           this isolates the consumer.
# Prints a table (also written to benchmarks/last-run-INTERVALs.txt) with rates and storeyd's peak resident memory.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
count="${1:-1000000}"
points="${2:-100000}"
interval="${STAMP_INTERVAL:-60}"
work="$(mktemp -d /tmp/storey-bench.XXXXXX)"
port=$((20000 + RANDOM % 20000))
http=$((40000 + RANDOM % 20000))

scripts/install-dependencies
swift build -c release --product storeyd >/dev/null
swift build -c release --product storey >/dev/null
swift build -c release --product storey-loadgen >/dev/null
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
CONF
"$bin/storey" topics --config "$work/storey.yaml" >"$work/topics.tsv"
cat >"$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
user $(id -un)
max_queued_messages 0
max_queued_bytes 0
queue_qos0_messages true
max_inflight_messages 1000
persistence false
CONF

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
broker=$!
pids+=($broker)
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
wait_accepted() {  # until storeyd has stored $1 readings, or none more for 15 s; prints "TIME COUNT"
  local last=-1 seen changed
  changed=$(now)
  while true; do
    seen=$(accepted)
    if [[ "$seen" != "$last" ]]; then last=$seen; changed=$(now); fi
    [[ "$seen" == "$1" ]] && break
    python3 -c "import sys; sys.exit(0 if $(now) - $changed > 15 else 1)" && break
    sleep 0.05
  done
  echo "$changed $last"
}
wait_lines() {  # until file $1 has $2 lines, or none more for 15 s; prints "TIME COUNT"
  local last=-1 seen changed
  changed=$(now)
  while true; do
    seen=$(wc -l <"$1")
    if [[ "$seen" != "$last" ]]; then last=$seen; changed=$(now); fi
    [[ "$seen" -ge "$2" ]] && break
    python3 -c "import sys; sys.exit(0 if $(now) - $changed > 15 else 1)" && break
    sleep 0.05
  done
  echo "$changed $last"
}
peak_rss_mb() { awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$1/status"; }
rate() { python3 -c "print(f'{$1/($3-$2):,.0f}')"; }
ratio() { python3 -c "print(f'{($2/($4-$3))/($1/($6-$5)):.2f}')"; }  # storeyd rate / mosquitto_sub rate
results=()

for qos in 0 1; do
  # Live
  start_storeyd
  t0=$(now)
  mosquitto_sub -p "$port" -q "$qos" -V mqttv5 -t 'bench/#' -C "$count" >"$work/sub.out" &
  sub=$!
  pids+=($sub)
  "$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$port" --count "$count" --qos "$qos" --interval "$interval" >"$work/loadgen.txt"
  read -r t_sub sub_got <<<"$(wait_lines "$work/sub.out" "$count")"
  kill "$sub" 2>/dev/null || true
  read -r t_storey got <<<"$(wait_accepted "$count")"
  rss=$(peak_rss_mb "$storeyd")
  results+=("live  qos$qos  mosquitto_sub $(rate "$sub_got" "$t0" "$t_sub")/s (received $sub_got)  storeyd $(rate "$got" "$t0" "$t_storey")/s (stored $got of $count)  ratio $(ratio "$sub_got" "$got" "$t0" "$t_storey" "$t0" "$t_sub")  storeyd peak RSS ${rss} MB  ($(cat "$work/loadgen.txt"))")
  stop_storeyd

  # Drain: make both persistent sessions, go away, queue COUNT readings, come back one at a time.
  start_storeyd; stop_storeyd
  mosquitto_sub -p "$port" -q "$qos" -V mqttv5 -c -i bench-sub -x 3600 -t 'bench/#' -E
  "$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$port" --count "$count" --qos "$qos" --interval "$interval" >/dev/null
  t0=$(now)
  mosquitto_sub -p "$port" -q "$qos" -V mqttv5 -c -i bench-sub -x 3600 -t 'bench/#' -C "$count" >/dev/null
  t_sub=$(now)
  "$bin/storeyd" --config "$work/storey.yaml" 2>"$work/storeyd-drain-qos$qos.log" &  # same database: its session
  storeyd=$!; pids+=($storeyd)
  # The clock starts when storeyd is connected: with 100,000 points its HTTP listener may answer only
  # after the backlog is stored, and the end is then the first /metrics answer (an upper bound).
  until grep -q "MQTT connected" "$work/storeyd-drain-qos$qos.log"; do sleep 0.005; done
  t1=$(now)
  ready_rss=$(awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$storeyd/status")
  read -r t_storey got <<<"$(wait_accepted "$count")"
  rss=$(peak_rss_mb "$storeyd")
  results+=("drain qos$qos  mosquitto_sub $(rate "$count" "$t0" "$t_sub")/s  storeyd $(rate "$got" "$t1" "$t_storey")/s (stored $got of $count)  ratio $(ratio "$count" "$got" "$t1" "$t_storey" "$t0" "$t_sub")  storeyd RSS ${ready_rss} MB when started, peak ${rss} MB")
  stop_storeyd
  mosquitto_sub -p "$port" -V mqttv5 -c -i bench-sub -x 0 -t 'bench/#' -E  # end the session
done

{
  echo "intake benchmark: $count readings over $points points, one per point every $interval s of data time, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%s\n' "${results[@]}"
} | tee "benchmarks/last-run-${interval}s.txt"
