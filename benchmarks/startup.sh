#!/usr/bin/env bash
# Start-up and reload with many points: the time from exec to READY=1 (as systemd sees it, on a notify
# socket of our own), on a new database (points registered) and on an existing one, and the time from
# SIGHUP to READY=1 for a reload that changes the topology (one point more). Side by side, the same run's
# `storey check` on the same configuration: reading and validating it, which start-up and reload both do.
#
#   benchmarks/startup.sh [POINTS] [RUNS]      (defaults: 100,000 points, 3 runs of each)
source "$(dirname "$0")/lib.sh"
points="${1:-100000}"; runs="${2:-3}"
bench_setup storey-startup storeyd storey
bench_broker
bench_tower "$points"
python3 benchmarks/make-topology.py "$((points + 1))" >"$work/topology-plus-one.yaml"

# The notify socket: prints "<monotonic seconds> <first line>" for each message storeyd sends.
cat >"$work/notify.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    data = s.recv(4096).decode()
    print(f"{time.monotonic():.4f} {data.splitlines()[0]}", flush=True)
PY
python3 "$work/notify.py" "$work/notify.sock" >"$work/notify.log" & pids+=($!)
while [[ ! -S "$work/notify.sock" ]]; do sleep 0.01; done
# Waits for the Nth line of the notify log matching $1; prints its time.
wait_for() { local n=$2; until [[ $(grep -c " $1" "$work/notify.log") -ge $n ]]; do sleep 0.005; done; grep " $1" "$work/notify.log" | sed -n "${n}p" | cut -d' ' -f1; }
readies=0; reloads=0
# Starts storeyd; sets $storeyd and $elapsed (seconds to READY=1). Not in a subshell: it keeps count.
start_once() {
  local t0 ready
  t0=$(bench_now)
  NOTIFY_SOCKET="$work/notify.sock" "$bin/storeyd" --config "$work/storey.yaml" 2>>"$work/storeyd.log" & storeyd=$!
  readies=$((readies + 1))
  ready=$(wait_for READY=1 "$readies")
  elapsed=$(python3 -c "print(f'{$ready - $t0:.2f}')")
}
stop_once() { kill "$storeyd"; wait "$storeyd" || true; }

check=(); cold=(); warm=(); reload=(); rss=()
for run in $(seq "$runs"); do
  t0=$(bench_now); "$bin/storey" check --config "$work/storey.yaml" >/dev/null; t1=$(bench_now)
  check+=("$(python3 -c "print(f'{$t1 - $t0:.2f}')")")
  cp "$work/topology.yaml" "$work/topology.current"
  rm -f "$work"/storey.db*
  start_once; cold+=("$elapsed"); stop_once
  start_once; warm+=("$elapsed")
  rss+=("$(awk '/VmRSS/{printf "%.0f", $2/1024}' /proc/$storeyd/status)")
  # Reload: one point more (then back, so every run starts from the same file).
  cp "$work/topology-plus-one.yaml" "$work/topology.yaml"
  t0=$(bench_now); kill -HUP "$storeyd"; reloads=$((reloads + 1)); readies=$((readies + 1))
  wait_for RELOADING=1 "$reloads" >/dev/null
  ready=$(wait_for READY=1 "$readies")
  reload+=("$(python3 -c "print(f'{$ready - $t0:.2f}')")")
  cp "$work/topology.current" "$work/topology.yaml"
  stop_once
done
{
  echo "start-up and reload benchmark: $points points, $runs runs, release build, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "command: benchmarks/startup.sh $points $runs"
  echo "storey check (reference: read and validate the configuration): ${check[*]} s"
  echo "storeyd to READY=1, new database:                               ${cold[*]} s"
  echo "storeyd to READY=1, existing database:                          ${warm[*]} s  (RSS when ready: ${rss[*]} MB)"
  echo "reload with one point more, SIGHUP to READY=1:                  ${reload[*]} s"
} | tee "benchmarks/last-run-startup.txt"
