#!/usr/bin/env bash
# Alert latency: from the last reading of an hour that breaks a rule with no `for` duration to the signed
# webhook arriving at a local receiver (Standard Webhooks verified), under a steady background load.
#
# Each sample: one tenant's hour of energy readings (its 10 meters × 60 minutes, stamped two days ago, so
# the window is long closed) published with mosquitto_pub; the clock starts when the last is published and
# stops when the receiver logs the alert's firing notice. What it includes: intake, the rule tick
# (`evaluate_every: 1s`; a closed window that received readings is judged one quiet tick later), the
# outbox commit, delivery (route `group_wait: 0s`), rendering, signing and the HTTP request. Beside it, in
# the same run, the floor: mosquitto_sub receiving the same readings (time from the last publish to its
# arrival), which no consumer can beat.
#
#   benchmarks/alert-latency.sh [SAMPLES] [BACKGROUND_RATE]   (defaults: 40 samples, 1,000 readings/s)
#   KEEP=1 keeps the working folder (logs, database) for a look afterwards.
source "$(dirname "$0")/lib.sh"
samples="${1:-40}"; rate="${2:-1000}"; points=4000   # 1,000 spaces, 100 tenants
secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
scripts/install-dependencies
bench_setup storey-latency storeyd storey storey-loadgen
hook=$(bench_port)
echo "$secret" >"$work/whsec"
rules="alerting:
  evaluate_every: 1s
rules:
  - name: energy-low
    scope: { kind: tenant }
    metric: energy_intensity
    window: hour
    condition: { below: 1 }          # kWh per m² an hour: every hour sampled here breaks it
    applies: always
delivery:
  receivers:
    - name: hook
      webhook: { url: \"http://127.0.0.1:$hook/\", secret_files: [$work/whsec] }
  route:
    receiver: hook
    group_by: [\"...\"]
    group_wait: 0s
    group_interval: 0s"
bench_broker 'max_queued_messages 0'
bench_tower "$points" "$rules"
touch "$work/hook.jsonl"
python3 Tests/StoreyTestSupport/Servers/webhook_receiver.py --port "$hook" --log "$work/hook.jsonl" --secret "$secret" >"$work/hook.log" 2>&1 & pids+=($!)
until (exec 3<>/dev/tcp/127.0.0.1/$hook) 2>/dev/null; do sleep 0.1; done
bench_storeyd
# The floor: a C client on the energy readings, printing each arrival's time.
mosquitto_sub -p "$mqtt" -t 'bench/+/+/+/+' -q 1 -F '%U %t' >"$work/sub.txt" & pids+=($!)
"$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$mqtt" --count $((rate * 3600)) --qos 1 --live --rate "$rate" \
  >/dev/null & pids+=($!)
sleep 5

now=$(date +%s)
hour0=$(( (now / 3600 - 48) * 3600 ))
storey_ms=(); floor_ms=()
for sample in $(seq 0 $((samples - 1))); do
  tenant=$sample
  start=$((hour0 - sample * 3600))          # a different closed hour each time
  before=$(wc -l <"$work/hook.jsonl" 2>/dev/null || echo 0)
  # The tenant's 10 spaces; energy is each space's second point (make-topology.py: power, energy, …).
  for space in $(seq $((tenant * 10)) $((tenant * 10 + 9))); do
    topic=$(awk -F'\t' -v p="p$((space * 4 + 1))" '$2 == p { print $1 }' "$work/topics.tsv")
    # 0.01 kWh a minute on 20 m²: 0.03 kWh/m² in the hour, below the rule's 1.
    awk -v start="$start" 'BEGIN { for (m = 0; m < 60; m++) printf "{\"value\": %.2f, \"ts\": %d}\n", 1000 + m * 0.01, start + m * 60 }' \
      | mosquitto_pub -p "$mqtt" -t "$topic" -q 1 -l
    last_topic=$topic
  done
  t0=$(python3 -c 'import time; print(time.time())')
  deadline=$((SECONDS + 30))
  # When the receiver logged the tenant's alert (exit 1 while it has not yet).
  until arrived=$(python3 - "$work/hook.jsonl" "$before" "t$tenant" <<'PY'
import json, sys
for line in open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]:
    entry = json.loads(line)
    if sys.argv[3] in json.dumps(entry["body"]):
        print(entry["at"]); sys.exit(0)
sys.exit(1)
PY
)
  do
    (( SECONDS < deadline )) || { echo "sample $sample: no webhook within 30 s" >&2; tail -5 "$work/storeyd.log" >&2; exit 1; }
    sleep 0.02
  done
  floor=$(awk -v t="$last_topic" '$2 == t { last = $1 } END { print last }' "$work/sub.txt")
  storey_ms+=("$(python3 -c "print(round(($arrived - $t0) * 1000))")")
  floor_ms+=("$(python3 -c "print(max(0, round(($floor - $t0) * 1000)))")")
done
python3 - "$samples" "$rate" "${storey_ms[*]}" "${floor_ms[*]}" <<'PY' | tee benchmarks/last-run-alert-latency.txt
import sys, time, os
samples, rate = sys.argv[1], sys.argv[2]
storey = sorted(int(x) for x in sys.argv[3].split()); floor = sorted(int(x) for x in sys.argv[4].split())
def pct(values, p): return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
print(f"alert latency: {samples} samples, background {rate} readings/s (QoS 1, live), release build, "
      f"{time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, {os.cpu_count()} cores, load average {open('/proc/loadavg').read().split()[:3]}")
print(f"command: benchmarks/alert-latency.sh {samples} {rate}")
print(f"storeyd, last reading published -> signed webhook received: p50 {pct(storey, 50)} ms, p90 {pct(storey, 90)} ms, p99 {pct(storey, 99)} ms, max {storey[-1]} ms")
print(f"floor, last reading published -> mosquitto_sub received it:  p50 {pct(floor, 50)} ms, p99 {pct(floor, 99)} ms")
PY
