#!/usr/bin/env bash
# Catch-up after a stop: storeyd stopped cleanly (SIGTERM) while COUNT QoS 1 readings queue in its
# persistent session on the broker (queue limits off), then started again; the time from its start, and
# from its connection to the broker, until every reading is stored (storey_readings_accepted_total, and
# the database's reading table counted afterwards), and its peak resident memory. Beside it, in the same
# run and on the same backlog, the paho-mqtt reference (paho-consumer.py with its own persistent session,
# aggregating per tenant and storing every reading in SQLite).
#
#   benchmarks/catch-up.sh [COUNT] [POINTS]      (defaults: 500,000 readings over 100,000 points)
#   STAMP_INTERVAL=60 benchmarks/catch-up.sh …    seconds between one point's readings (default 10, as a meter)
source "$(dirname "$0")/lib.sh"
count="${1:-500000}"; points="${2:-100000}"; interval="${STAMP_INTERVAL:-10}"
started_load="$(cut -d' ' -f1-3 /proc/loadavg)"
bench_python_package paho.mqtt paho-mqtt==2.2.0
bench_python_package yaml PyYAML==6.0.3
bench_setup storey-catch-up storeyd storey storey-loadgen
# Queue limits off (0: none) and no memory limit, so the broker keeps the whole backlog for both sessions.
bench_broker 'max_queued_messages 0' 'max_queued_bytes 0' 'memory_limit 0' 'max_inflight_messages 1000' 'persistence false'
bench_tower "$points"

now() { echo "$EPOCHREALTIME"; }
accepted() { curl -s --max-time 1 "127.0.0.1:$http/metrics" | awk '/^storey_readings_accepted_total /{printf "%d", $2}'; }
seconds() { python3 -c "print(f'{$2 - $1:.1f}')"; }        # START END
rate() { python3 -c "print(f'{$1/($3-$2):,.0f}')"; }       # COUNT START END
paho_field() { sed -n 's/.* '"$2"'=\([^ ]*\).*/\1/p' "$1"; }
paho() { python3 benchmarks/paho-consumer.py --topology "$work/topology.yaml" --port "$mqtt" --qos 1 --client-id paho-catch-up "$@"; }

# The sessions: storeyd's (it subscribes at QoS 1 with a session that outlives it), then stopped cleanly.
bench_storeyd
kill -TERM "$storeyd"
wait "$storeyd" && stopped="exit 0" || stopped="exit $?"
paho --subscribe-only >/dev/null

t=$(now)
"$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$mqtt" --count "$count" --qos 1 --interval "$interval" >"$work/loadgen.txt"
broker_rss=$(awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$broker/status")

# storeyd again, on the same database and so the same session.
t0=$(now)
"$bin/storeyd" --config "$work/storey.yaml" 2>"$work/storeyd-catch-up.log" & storeyd=$!; pids+=($storeyd)
until grep -qs "MQTT connected" "$work/storeyd-catch-up.log"; do sleep 0.005; done
t1=$(now)
# /metrics may answer only late while the backlog is stored (many points): its first answer of COUNT is
# an upper bound of the end.
# Gives up after 60 s without progress (then "stored" below says how many).
last=-1; changed=${EPOCHREALTIME/./}
while true; do
  seen=$(accepted)
  [[ "$seen" != "$last" ]] && { last=$seen; changed=${EPOCHREALTIME/./}; }
  [[ "$seen" -ge "$count" ]] && break
  ((${EPOCHREALTIME/./} - changed > 60000000)) && break
  sleep 0.05
done
t2=$(now)
rss=$(awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$storeyd/status")
cpu=$(awk '{printf "%.1f", ($14 + $15) / 100}' "/proc/$storeyd/stat")
kill -TERM "$storeyd"; wait "$storeyd" || true
stored=$(sqlite3 "$work/storey.db" 'SELECT count(*) FROM reading')

# The reference on its own backlog of the same readings.
p0=$(now)
paho --session --idle 120 --count "$count" --database "$work/paho.db" >"$work/paho.out"
p_stored=$(paho_field "$work/paho.out" stored); p1=$(paho_field "$work/paho.out" connected); p2=$(paho_field "$work/paho.out" last)
p_rows=$(sqlite3 "$work/paho.db" 'SELECT count(*) FROM readings')

out="benchmarks/last-run-catch-up.txt"
{
  echo "catch-up: $count QoS 1 readings over $points points (one per point every $interval s of data time) queued while stopped, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $started_load at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
  echo "command: STAMP_INTERVAL=$interval benchmarks/catch-up.sh $count $points"
  echo "queued: $(cat "$work/loadgen.txt") while storeyd was stopped (SIGTERM: $stopped); broker RSS ${broker_rss} MB holding both sessions' backlogs"
  echo "storeyd:      from start $(seconds "$t0" "$t2") s, from connected $(seconds "$t1" "$t2") s ($(rate "$count" "$t1" "$t2")/s; connected $(seconds "$t0" "$t1") s after start); stored $stored of $count (reading table); peak RSS ${rss} MB; CPU ${cpu} s"
  echo "paho+SQLite:  from start $(seconds "$p0" "$p2") s, from connected $(seconds "$p1" "$p2") s ($(rate "$p_stored" "$p1" "$p2")/s; connected $(seconds "$p0" "$p1") s after start); stored $p_rows of $count (readings table); peak RSS $(paho_field "$work/paho.out" peak_rss_mb) MB; CPU $(paho_field "$work/paho.out" cpu_s) s ($(paho_field "$work/paho.out" cpu_before_connected_s) s of it before connecting: reading the topology); longest wait between two messages $(paho_field "$work/paho.out" longest_gap_s) s"
  echo "storeyd / paho+SQLite, rate from connected: $(python3 -c "print(f'{($count/($t2-$t1))/($p_stored/($p2-$p1)):.2f}')"); from start: $(python3 -c "print(f'{($p2-$p0)/($t2-$t0):.2f}')")× as fast"
} | tee "$out"
