#!/usr/bin/env bash
# End-to-end intake benchmark: storeyd (decode, aggregate, store everything in SQLite) against two
# references on the same stream, in the same run: mosquitto_sub (the C client's ceiling, decoding nothing)
# and a Python consumer on paho-mqtt (paho-consumer.py: decoding and per-tenant aggregation, what an
# operator would otherwise write; in a drain also with every reading stored in SQLite).
#
#   benchmarks/intake.sh [COUNT] [POINTS]      (defaults: 1,000,000 readings over 100,000 points)
#   STAMP_INTERVAL=10 benchmarks/intake.sh …     seconds between one point's readings (default 60: every
#                                                reading opens a minute row of its own, the worst case)
#   QOS=0 WAYS=live benchmarks/intake.sh …       only some of the runs (defaults: QOS="0 1", WAYS="live drain")
#
# For QoS 0 and 1, two ways:
#   live  — mosquitto_sub, storeyd and the paho consumer (aggregating only) subscribed while storey-loadgen
#           publishes (publisher, broker and consumers share the two cores, so the publisher limits everyone);
#   drain — COUNT readings queued in each consumer's persistent session while it was away, then drained
#           one consumer at a time: this isolates the consumer. The paho consumer drains twice, aggregating
#           only and aggregating and storing in SQLite, each from a session of its own.
# Prints a table (also written to benchmarks/last-run-INTERVALs.txt) with rates, storeyd's rate over each
# reference's, and peak resident memory.
source "$(dirname "$0")/lib.sh"
count="${1:-1000000}"
points="${2:-100000}"
interval="${STAMP_INTERVAL:-60}"
started_load="$(cut -d' ' -f1-3 /proc/loadavg)"

scripts/install-dependencies
bench_python_package paho.mqtt paho-mqtt==2.2.0
bench_python_package yaml PyYAML==6.0.3
bench_setup storey-bench storeyd storey storey-loadgen
bench_broker 'max_queued_messages 0' 'max_queued_bytes 0' 'queue_qos0_messages true' 'max_inflight_messages 1000' 'persistence false'
bench_tower "$points"

now() { echo "$EPOCHREALTIME"; }
micros() { local t=$EPOCHREALTIME; echo "${t/./}"; }
accepted() { curl -s "127.0.0.1:$http/metrics" | awk '/^storey_readings_accepted_total /{printf "%d", $2}'; }
start_storeyd() { rm -f "$work"/storey.db*; bench_storeyd; }
stop_storeyd() { kill "$storeyd"; wait "$storeyd" || true; }
# Polls "$@" every 50 ms until it prints $count, or nothing new for 15 s; prints "TIME COUNT" (when it last changed).
wait_for_count() {
  local last=-1 seen changed changed_us
  changed=$(now); changed_us=$(micros)
  while true; do
    seen=$("$@")
    if [[ "$seen" != "$last" ]]; then last=$seen; changed=$(now); changed_us=$(micros); fi
    [[ "$seen" -ge "$count" ]] && break
    (($(micros) - changed_us > 15000000)) && break
    sleep 0.05
  done
  echo "$changed $last"
}
lines() { wc -l <"$1"; }
peak_rss_mb() { awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$1/status"; }
rate() { python3 -c "print(f'{$1/($3-$2):,.0f}')"; }        # COUNT START END
over() { python3 -c "print(f'{($1/($3-$2))/($4/($6-$5)):.2f}')"; }  # rate 1 over rate 2: COUNT START END COUNT START END
# The paho consumer's "done" line, field $2 (received, stored, last, connected, peak_rss_mb).
paho_field() { sed -n 's/.* '"$2"'=\([^ ]*\).*/\1/p' "$1"; }
paho() { python3 benchmarks/paho-consumer.py --topology "$work/topology.yaml" --port "$mqtt" "$@"; }
results=()

for qos in ${QOS:-0 1}; do
  # Live: the three consumers subscribed, then the generator publishes.
  if [[ " ${WAYS:-live drain} " == *" live "* ]]; then
  start_storeyd
  paho --qos "$qos" --client-id "paho-live" --count "$count" >"$work/paho-live.out" & paho_pid=$!; pids+=($paho_pid)
  until grep -q '^subscribed' "$work/paho-live.out"; do sleep 0.05; done
  mosquitto_sub -p "$mqtt" -q "$qos" -V mqttv5 -t 'bench/#' -C "$count" >"$work/sub.out" & sub=$!; pids+=($sub)
  sleep 0.2
  t0=$(now)
  "$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$mqtt" --count "$count" --qos "$qos" --interval "$interval" >"$work/loadgen.txt"
  read -r t_sub sub_got <<<"$(wait_for_count lines "$work/sub.out")"
  kill "$sub" 2>/dev/null || true
  read -r t_storey got <<<"$(wait_for_count accepted)"
  wait "$paho_pid" || true
  paho_got=$(paho_field "$work/paho-live.out" received); t_paho=$(paho_field "$work/paho-live.out" last)
  rss=$(peak_rss_mb "$storeyd")
  results+=("live  qos$qos  mosquitto_sub $(rate "$sub_got" "$t0" "$t_sub")/s (received $sub_got)  storeyd $(rate "$got" "$t0" "$t_storey")/s (stored $got of $count)  paho $(rate "$paho_got" "$t0" "$t_paho")/s (aggregated $paho_got, peak RSS $(paho_field "$work/paho-live.out" peak_rss_mb) MB)  storeyd/mosquitto_sub $(over "$got" "$t0" "$t_storey" "$sub_got" "$t0" "$t_sub")  storeyd/paho $(over "$got" "$t0" "$t_storey" "$paho_got" "$t0" "$t_paho")  storeyd peak RSS ${rss} MB  ($(cat "$work/loadgen.txt"))")
  stop_storeyd
  fi

  # Drain: make every persistent session, go away, queue COUNT readings, come back one at a time.
  [[ " ${WAYS:-live drain} " == *" drain "* ]] || continue
  start_storeyd; stop_storeyd
  mosquitto_sub -p "$mqtt" -q "$qos" -V mqttv5 -c -i bench-sub -x 3600 -t 'bench/#' -E
  paho --qos "$qos" --client-id paho-drain --subscribe-only >/dev/null
  paho --qos "$qos" --client-id paho-drain-sqlite --subscribe-only >/dev/null
  "$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$mqtt" --count "$count" --qos "$qos" --interval "$interval" >/dev/null
  # CPU a reading of the broker and of each consumer during its drain: on two cores the two together set
  # the pace (benchmarks/README.md, "What the 90 % target would take").
  broker_cpu0=$(bench_cpu "$broker")
  t0=$(now)
  sub_cpu=$( { TIMEFORMAT='%U %S'; time mosquitto_sub -p "$mqtt" -q "$qos" -V mqttv5 -c -i bench-sub -x 3600 -t 'bench/#' -C "$count" >/dev/null; } 2>&1 | awk '{print $1 + $2}')
  t_sub=$(now)
  broker_cpu1=$(bench_cpu "$broker")
  "$bin/storeyd" --config "$work/storey.yaml" 2>"$work/storeyd-drain-qos$qos.log" & storeyd=$!; pids+=($storeyd)  # same database: its session
  # The clock starts when storeyd is connected: with 100,000 points its HTTP listener may answer only
  # after the backlog is stored, and the end is then the first /metrics answer (an upper bound).
  until grep -qs "MQTT connected" "$work/storeyd-drain-qos$qos.log"; do sleep 0.005; done
  t1=$(now)
  storeyd_cpu0=$(bench_cpu "$storeyd"); broker_cpu2=$(bench_cpu "$broker")
  ready_rss=$(awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$storeyd/status")
  read -r t_storey got <<<"$(wait_for_count accepted)"
  rss=$(peak_rss_mb "$storeyd")
  storeyd_cpu=$(python3 -c "print($(bench_cpu "$storeyd") - $storeyd_cpu0)"); broker_cpu3=$(bench_cpu "$broker")
  cpu_us() { python3 -c "print(f'{$1 / $count * 1e6:.1f}')"; }
  cpu="CPU a reading: mosquitto_sub $(cpu_us "$sub_cpu") µs with the broker $(cpu_us "($broker_cpu1 - $broker_cpu0)") µs, storeyd $(cpu_us "$storeyd_cpu") µs with the broker $(cpu_us "($broker_cpu3 - $broker_cpu2)") µs"
  stop_storeyd
  # The paho consumer's clock, too, starts when it is connected (after reading the topology).
  paho --qos "$qos" --client-id paho-drain --session --idle 120 --count "$count" >"$work/paho-drain.out"
  rm -f "$work/paho.db"*
  paho --qos "$qos" --client-id paho-drain-sqlite --session --idle 120 --count "$count" --database "$work/paho.db" >"$work/paho-drain-sqlite.out"
  p_got=$(paho_field "$work/paho-drain.out" received); p_t0=$(paho_field "$work/paho-drain.out" connected); p_t1=$(paho_field "$work/paho-drain.out" last)
  s_got=$(paho_field "$work/paho-drain-sqlite.out" stored); s_t0=$(paho_field "$work/paho-drain-sqlite.out" connected); s_t1=$(paho_field "$work/paho-drain-sqlite.out" last)
  results+=("drain qos$qos  mosquitto_sub $(rate "$count" "$t0" "$t_sub")/s  storeyd $(rate "$got" "$t1" "$t_storey")/s (stored $got of $count)  paho $(rate "$p_got" "$p_t0" "$p_t1")/s (aggregated $p_got, peak RSS $(paho_field "$work/paho-drain.out" peak_rss_mb) MB, CPU $(paho_field "$work/paho-drain.out" cpu_s) s)  paho+SQLite $(rate "$s_got" "$s_t0" "$s_t1")/s (stored $s_got, peak RSS $(paho_field "$work/paho-drain-sqlite.out" peak_rss_mb) MB, CPU $(paho_field "$work/paho-drain-sqlite.out" cpu_s) s, longest wait $(paho_field "$work/paho-drain-sqlite.out" longest_gap_s) s)  storeyd/mosquitto_sub $(over "$got" "$t1" "$t_storey" "$count" "$t0" "$t_sub")  storeyd/paho $(over "$got" "$t1" "$t_storey" "$p_got" "$p_t0" "$p_t1")  storeyd/paho+SQLite $(over "$got" "$t1" "$t_storey" "$s_got" "$s_t0" "$s_t1")  storeyd RSS ${ready_rss} MB when connected, peak ${rss} MB  $cpu")
  for id in bench-sub paho-drain paho-drain-sqlite; do  # end the sessions
    mosquitto_sub -p "$mqtt" -V mqttv5 -c -i "$id" -x 0 -t 'bench/#' -E >/dev/null  # what a reference left queued is not wanted
  done
done

{
  echo "intake benchmark: $count readings over $points points, one per point every $interval s of data time, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $started_load at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
  echo "command: STAMP_INTERVAL=$interval benchmarks/intake.sh $count $points"
  printf '%s\n' "${results[@]}"
} | tee "benchmarks/last-run-${interval}s${QOS:+-qos${QOS// /}}${WAYS:+-${WAYS// /-}}.txt"
