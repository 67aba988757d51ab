#!/usr/bin/env bash
# Memory over a soak: storeyd receiving a steady stream (storey-loadgen --live --rate, readings stamped as
# meters stamp them) over POINTS points for MINUTES, its resident memory sampled every minute. Beside it,
# in the same run, mosquitto_sub subscribed to the same stream (the C client's footprint, which should not
# move) and the broker. Flat is the target: what grows is a leak or an unbounded cache.
#
#   benchmarks/soak.sh [MINUTES] [RATE] [POINTS]      (defaults: 60 minutes, 2,000 readings/s, 100,000 points)
source "$(dirname "$0")/lib.sh"
minutes="${1:-60}"; rate="${2:-2000}"; points="${3:-100000}"
bench_setup storey-soak storeyd storey storey-loadgen
bench_broker 'max_queued_messages 0'
bench_tower "$points"
bench_storeyd
mosquitto_sub -p "$mqtt" -t 'bench/#' -q 1 >/dev/null & sub=$!; pids+=($sub)
"$bin/storey-loadgen" --topics "$work/topics.tsv" --port "$mqtt" --count $((rate * minutes * 60)) --qos 1 --live --rate "$rate" \
  >"$work/loadgen.txt" & loadgen=$!; pids+=($loadgen)
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
# storeyd's resident memory in two parts: its heap (anonymous), where a leak would show, and the pages
# of files it maps (the binary; the database too, before mmap_size went to 0 on 2026-11-29).
anon() { awk '/RssAnon/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
file() { awk '/RssFile/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
accepted() { curl -s "127.0.0.1:$http/metrics" | awk '/^storey_readings_accepted_total /{printf "%d", $2}'; }
out="benchmarks/last-run-soak.txt"
{
  echo "soak: $minutes min at $rate readings/s (QoS 1, live stamps) over $points points, release build, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
  echo "command: benchmarks/soak.sh $minutes $rate $points"
  echo "minute  storeyd_rss_mb (heap + mapped files)  mosquitto_sub_rss_mb  broker_rss_mb  stored"
} | tee "$out"
for minute in $(seq 0 "$minutes"); do
  printf '%6d  %8s (%6s + %6s)  %20s  %13s  %s\n' "$minute" "$(rss $storeyd)" "$(anon $storeyd)" "$(file $storeyd)" "$(rss $sub)" "$(rss $broker)" "$(accepted)" | tee -a "$out"
  [[ $minute -lt $minutes ]] && sleep 60
done
wait "$loadgen" || true
echo "loadgen: $(cat "$work/loadgen.txt"); storeyd peak RSS $(awk '/VmHWM/{printf "%.0f", $2/1024}' /proc/$storeyd/status) MB" | tee -a "$out"
