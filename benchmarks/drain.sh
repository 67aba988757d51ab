#!/usr/bin/env bash
# One QoS 0 drain into storeyd alone (no reference consumer): COUNT readings queued in storeyd's
# persistent session while it was stopped, then timed from /healthz until all are stored. Quicker than
# intake.sh for trying a change; `perf` records the drain (report with `perf report -i benchmarks/perf.data`).
#
#   benchmarks/drain.sh [COUNT] [POINTS] [perf]      (defaults: 400,000 readings over 1,000 points)
#   STAMP_INTERVAL=10   seconds between one point's readings (default 60); BUFFERED=N max_buffered_messages
source "$(dirname "$0")/lib.sh"
count="${1:-400000}"; points="${2:-1000}"; mode="${3:-}"
bench_setup storey-drain storeyd storey storey-loadgen
bench_broker 'max_queued_messages 0' 'max_queued_bytes 0' 'queue_qos0_messages true' 'persistence false'
bench_tower "$points" "intake:
  max_buffered_messages: ${BUFFERED:-10000}"
accepted() { curl -s "127.0.0.1:$http/metrics" | awk '/^storey_readings_accepted_total /{print $2}'; }
"$bin/storeyd" --config "$work/storey.yaml" 2>>"$work/storeyd.log" & storeyd=$!
until curl -sf "127.0.0.1:$http/readyz" >/dev/null; do sleep 0.05; done
kill $storeyd; wait $storeyd || true
"$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$mqtt" --count "$count" --qos 0 --interval "${STAMP_INTERVAL:-60}" >/dev/null
"$bin/storeyd" --config "$work/storey.yaml" 2>>"$work/storeyd.log" & storeyd=$!; pids+=($storeyd)
until curl -sf "127.0.0.1:$http/healthz" >/dev/null; do sleep 0.01; done
t1=$(date +%s.%N)
if [[ "$mode" == perf ]]; then perf record -F 299 -g -p $storeyd -o benchmarks/perf.data 2>/dev/null & perfpid=$!; fi
until [[ "$(accepted)" == "$count" ]]; do sleep 0.05; done
t2=$(date +%s.%N)
if [[ "$mode" == perf ]]; then kill -INT $perfpid; wait $perfpid || true; fi
python3 -c "print(f'drain of {$count} readings over $points points, every ${STAMP_INTERVAL:-60} s: {$t2-$t1:.2f} s, {$count/($t2-$t1):,.0f}/s')"
awk '/VmHWM/{printf "storeyd peak RSS %.0f MB\n", $2/1024}' /proc/$storeyd/status
