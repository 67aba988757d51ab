#!/usr/bin/env bash
# How long one `/api/v1/live` answer over a whole tower takes: POINTS points filled with COUNT readings (a
# drain of readings 10 s apart, ending now, so every live window has figures), then ANSWERS answers, 6 s
# apart (the view's cache keeps one for 5 s), each timed with curl. `perf` records one more answer
# (report with `perf report -i benchmarks/perf.data --children`).
#
#   benchmarks/live-answer.sh [POINTS] [COUNT] [ANSWERS] [perf]      (defaults: 100,000 points, 400,000 readings, 3)
source "$(dirname "$0")/lib.sh"
points="${1:-100000}"; count="${2:-400000}"; answers="${3:-3}"; mode="${4:-}"
bench_setup storey-live storeyd storey storey-loadgen
bench_broker 'max_queued_messages 0' 'max_queued_bytes 0' 'queue_qos0_messages true' 'persistence false'
bench_tower "$points"
accepted() { curl -s "127.0.0.1:$http/metrics" | awk '/^storey_readings_accepted_total /{print $2}'; }
# A first start makes the persistent session; the readings queue in it while storeyd is away.
bench_storeyd
kill "$storeyd"; wait "$storeyd" || true
"$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$mqtt" --count "$count" --qos 0 --interval 10 >/dev/null
bench_storeyd
until [[ "$(accepted)" == "$count" ]]; do sleep 0.2; done
answer() { curl -s -o "$work/live.json" -w '%{time_total}' "127.0.0.1:$http/api/v1/live?building=b"; }
for ((i = 1; i <= answers; i++)); do
  sleep 6
  seconds=$(answer)
  echo "answer $i: $seconds s, $(stat -c %s "$work/live.json") bytes"
done
if [[ "$mode" == perf ]]; then
  sleep 6
  perf record -F 499 -g -p "$storeyd" -o benchmarks/perf.data 2>/dev/null & perfpid=$!
  sleep 0.5
  echo "answer under perf: $(answer) s"
  kill -INT $perfpid; wait $perfpid || true
fi
