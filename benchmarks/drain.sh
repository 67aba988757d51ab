#!/usr/bin/env bash
# One drain (QoS 0, or QOS=1) into storeyd alone (no reference consumer): COUNT readings queued in storeyd's
# persistent session while it was stopped, then timed from /healthz until all are stored. Quicker than
# intake.sh for trying a change; `perf` records the drain (report with `perf report -i benchmarks/perf.data`).
#
#   benchmarks/drain.sh [COUNT] [POINTS] [perf]      (defaults: 400,000 readings over 1,000 points)
#   STAMP_INTERVAL=10   seconds between one point's readings (default 60); BUFFERED=N max_buffered_messages;
#   QOS=1               the readings published (so queued and delivered) at QoS 1
#   PERF_CALLGRAPH="--call-graph dwarf,16384"   perf's call graphs through Swift's frames (default -g)
# Prints the rate, storeyd's peak RSS, and its CPU during the drain: in all and for each busy thread
# (`storey-intake` is the MQTT loop; the writer runs on Dispatch threads named `…-qos.overcommit`).
source "$(dirname "$0")/lib.sh"
count="${1:-400000}"; points="${2:-1000}"; mode="${3:-}"
bench_setup storey-drain storeyd storey storey-loadgen
bench_broker 'max_queued_messages 0' 'max_queued_bytes 0' 'queue_qos0_messages true' 'max_inflight_messages 1000' 'persistence false'
bench_tower "$points" "intake:
  max_buffered_messages: ${BUFFERED:-10000}"
# Per thread of a process: id, name, CPU seconds (user + system).
thread_cpu() {
  local tick; tick=$(getconf CLK_TCK)
  for stat in /proc/$1/task/*/stat; do
    awk -v tick="$tick" '{ match($0, /\(.*\)/); name = substr($0, RSTART + 1, RLENGTH - 2); rest = substr($0, RSTART + RLENGTH + 1); split(rest, f, " "); printf "%s\t%s\t%.2f\n", $1, name, (f[12] + f[13]) / tick }' "$stat" 2>/dev/null || true
  done
}
accepted() { curl -s "127.0.0.1:$http/metrics" | awk '/^storey_readings_accepted_total /{print $2}'; }
"$bin/storeyd" --config "$work/storey.yaml" 2>>"$work/storeyd.log" & storeyd=$!
until curl -sf "127.0.0.1:$http/readyz" >/dev/null; do sleep 0.05; done
kill $storeyd; wait $storeyd || true
"$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$mqtt" --count "$count" --qos "${QOS:-0}" --interval "${STAMP_INTERVAL:-60}" >/dev/null
"$bin/storeyd" --config "$work/storey.yaml" 2>>"$work/storeyd.log" & storeyd=$!; pids+=($storeyd)
until curl -sf "127.0.0.1:$http/healthz" >/dev/null; do sleep 0.01; done
t1=$(date +%s.%N)
cpu_before="$(thread_cpu $storeyd)"
if [[ "$mode" == perf ]]; then perf record -F 299 ${PERF_CALLGRAPH:--g} -p $storeyd -o benchmarks/perf.data 2>/dev/null & perfpid=$!; fi
until [[ "$(accepted)" == "$count" ]]; do sleep 0.05; done
t2=$(date +%s.%N)
cpu_after="$(thread_cpu $storeyd)"
if [[ "$mode" == perf ]]; then kill -INT $perfpid; wait $perfpid || true; fi
python3 -c "print(f'drain of {$count} QoS ${QOS:-0} readings over $points points, every ${STAMP_INTERVAL:-60} s: {$t2-$t1:.2f} s, {$count/($t2-$t1):,.0f}/s')"
awk '/VmHWM/{printf "storeyd peak RSS %.0f MB\n", $2/1024}' /proc/$storeyd/status
# CPU during the drain, in µs a reading, and the busiest threads': the MQTT loop thread (receiving, the
# intake journal) and the writer (decoding, aggregation, SQLite) above all.
python3 - "$count" "$cpu_before" "$cpu_after" <<'PY'
import sys
count = int(sys.argv[1])
parse = lambda text: {tid: (name, float(cpu)) for tid, name, cpu in (line.split("\t") for line in text.splitlines() if line)}
before, after = parse(sys.argv[2]), parse(sys.argv[3])
used = {tid: after[tid][1] - before.get(tid, ("", 0.0))[1] for tid in after}
busiest = [tid for tid in sorted(used, key=used.get, reverse=True) if used[tid] >= 0.05 * sum(used.values())]
threads = ", ".join(f"{after[tid][0]} {used[tid]:.2f} s ({used[tid] / count * 1e6:.1f} µs)" for tid in busiest)
print(f"storeyd CPU {sum(used.values()):.2f} s ({sum(used.values()) / count * 1e6:.1f} µs a reading); busiest threads: {threads}")
PY
