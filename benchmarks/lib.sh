# Shared by the benchmark scripts (sourced, not run): the release binaries, free ports, a working folder
# and the processes to stop when the script ends, a private broker, a benchmark tower.
#
#   source "$(dirname "$0")/lib.sh"
#   bench_setup storey-startup storeyd storey        # folder prefix, then the products to build
#   bench_broker 'max_queued_messages 0'             # mosquitto on $mqtt (extra lines for its configuration)
#   bench_tower 100000 "$rules"                      # $work/topology.yaml, storey.yaml (plus $rules), topics.tsv
#   bench_python_package paho.mqtt paho-mqtt==2.2.0  # a reference's Python package, from PyPI if missing
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/opt/swift/usr/bin:$PATH"

# A free TCP port on loopback, asked of the kernel.
bench_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Builds the products (release), sets $bin, $work (a new folder; KEEP=1 keeps it), $mqtt and $http (free
# ports), and stops every pid in $pids when the script exits. BIN=FOLDER: binaries built beforehand, no build.
bench_setup() {
  local prefix=$1; shift
  if [[ -n "${BIN:-}" ]]; then
    bin="$(cd "$BIN" && pwd)"
  else
    for product in "$@"; do swift build -c release --product "$product" >/dev/null 2>&1; done
    bin="$(swift build -c release --show-bin-path)"
  fi
  work="$(mktemp -d "/tmp/$prefix.XXXXXX")"
  mqtt=$(bench_port); http=$(bench_port)
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n "${KEEP:-}" ]] || rm -rf "$work"
}

# mosquitto on 127.0.0.1:$mqtt, anonymous; each argument one more line of its configuration. Sets $broker.
bench_broker() {
  { printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser %s\n' "$mqtt" "$(id -un)"; printf '%s\n' "$@"; } >"$work/mosquitto.conf"
  mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 & broker=$!; pids+=($broker)
  until (exec 3<>/dev/tcp/127.0.0.1/$mqtt) 2>/dev/null; do sleep 0.05; done
}

# The benchmark tower of POINTS points (make-topology.py), $work/storey.yaml with the broker, the
# database and HTTP in $work and the second argument appended (rules, delivery, …), and $work/topics.tsv.
bench_tower() {
  python3 benchmarks/make-topology.py "$1" >"$work/topology.yaml"
  cat >"$work/storey.yaml" <<CONF
mqtt:
  url: mqtt://127.0.0.1:$mqtt
  client_id: storeyd-bench
  qos: 1
database: $work/storey.db
http:
  address: 127.0.0.1:$http
topology: topology.yaml
CONF
  [[ $# -lt 2 ]] || printf '%s\n' "$2" >>"$work/storey.yaml"
  "$bin/storey" topics --config "$work/storey.yaml" >"$work/topics.tsv"
}

# Starts storeyd on $work/storey.yaml (extra arguments passed on) and waits until /readyz answers. Sets $storeyd.
bench_storeyd() {
  "$bin/storeyd" --config "$work/storey.yaml" "$@" 2>>"$work/storeyd.log" & storeyd=$!; pids+=($storeyd)
  until curl -sf "127.0.0.1:$http/readyz" >/dev/null; do sleep 0.05; done
}

# A Python package from PyPI for the python3 on PATH, as scripts/install-dependencies installs its own,
# unless MODULE imports already: bench_python_package MODULE SPEC (e.g. paho.mqtt paho-mqtt==2.2.0).
bench_python_package() {
  python3 -c "import $1" 2>/dev/null && return
  echo "installing from PyPI: $2"
  python3 -m pip install -q --disable-pip-version-check "$2" 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages "$2"
}

# CPU seconds (user + system, all threads) a running process has used so far.
bench_cpu() { awk -v tick="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / tick }' "/proc/$1/stat"; }

# Seconds on the monotonic clock.
bench_now() { python3 -c 'import time; print(f"{time.monotonic():.4f}")'; }
