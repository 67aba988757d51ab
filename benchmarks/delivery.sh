#!/usr/bin/env bash
# Delivery benchmark: COUNT alert transitions appended to the outbox of a running storeyd, routed to two
# webhook receivers (Standard Webhooks verified) and one SMTP server (aiosmtpd): time until the queue is
# empty, storeyd's peak resident memory, and loss (every transition must reach every receiver). Beside
# it, in the same run, the receivers' own ceiling: the same number of requests and mails sent to them by
# Python's standard library over one connection (benchmarks/delivery-reference.py). storeyd runs twice, on
# fresh databases and receivers: outcomes committed one per message (`commit_batch: {size: 1}`, as before
# batching) and in batches (the default), so both are measured under the same load.
#
#   benchmarks/delivery.sh [COUNT]        (default 10,000)      BUILD=debug for a debug build,
#                                                                BIN=FOLDER to use binaries built already
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
count="${1:-10000}"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
build="${BUILD:-release}"
work="$(mktemp -d /tmp/storey-delivery-bench.XXXXXX)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mqtt=$(port); http=$(port); hook0=$(port); hook1=$(port); smtp=$(port)
secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

scripts/install-dependencies
if [[ -n "${BIN:-}" ]]; then
  bin="$BIN"   # binaries already built (e.g. by `nice swift build -c release`)
else
  swift build -c "$build" --product storeyd >/dev/null
  swift build -c "$build" --product storey >/dev/null
  bin="$(swift build -c "$build" --show-bin-path)"
fi

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
servers=Tests/StoreyTestSupport/Servers
start_servers() {  # $1: folder for logs and mails
  mkdir -p "$1/mail"
  python3 $servers/webhook_receiver.py --port "$hook0" --log "$1/hook0.jsonl" --secret "$secret" >"$1/hook0.log" 2>&1 & pids+=($!)
  python3 $servers/webhook_receiver.py --port "$hook1" --log "$1/hook1.jsonl" --secret "$secret" >"$1/hook1.log" 2>&1 & pids+=($!)
  python3 $servers/smtp_server.py --port "$smtp" --dir "$1/mail" >"$1/smtp.log" 2>&1 & pids+=($!)
  for p in $hook0 $hook1 $smtp; do until (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; do sleep 0.1; done; done
}
stop_servers() { for pid in "${pids[@]:1}"; do kill "$pid" 2>/dev/null || true; done; wait "${pids[@]:1}" 2>/dev/null || true; pids=("${pids[0]}"); }

printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mqtt" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 & pids+=($!)

# Reference: the receivers' ceiling with Python's own clients.
start_servers "$work/reference"
reference_hooks=$( { python3 benchmarks/delivery-reference.py webhook "$hook0" "$count" "$secret" & python3 benchmarks/delivery-reference.py webhook "$hook1" "$count" "$secret"; wait; } | sort -n | tail -1)
reference_mail=$(python3 benchmarks/delivery-reference.py smtp "$smtp" "$count")
stop_servers

echo "$secret" >"$work/whsec"
cp Deploy/config/topology.yaml "$work/topology.yaml"
# COUNT transitions: COUNT/4 alerts, each firing, resolved, firing again (episode 2) and resolved.
python3 - "$count" >"$work/outbox.sql" <<'PY'
import json, sys, time
count = int(sys.argv[1]); now = int(time.time() * 1000)
print("BEGIN;")
for n in range(count):
    alert, step = n // 4, n % 4
    kind = "firing" if step % 2 == 0 else "resolved"
    scope = f"space-{alert}"; fingerprint = f"{alert:016x}"
    notification = {"kind": kind, "fingerprint": {"value": fingerprint}, "rule": "idle-space", "scopeKind": "space", "scopeID": scope,
        "episode": 1 + step // 2, "time": now, "startsAt": now, "severity": "warning", "isFlapping": False,
        "labels": {"alertname": "idle-space", "severity": "warning", "building": "t1", "space": scope},
        "annotations": {"summary": f"Space {scope} idle"}, "values": {"value": 0, "limit": 2, "resolveLevel": 3, "unit": "persons"}}
    if kind == "resolved": notification["endsAt"] = now
    text = json.dumps(notification).replace("'", "''")
    print(f"INSERT INTO outbox(created_at, fingerprint, kind, notification) VALUES ({now}, '{fingerprint}', '{kind}', '{text}');")
print("COMMIT;")
PY

# storeyd, once per commit mode: $1 a label (its folder), $2 the commit_batch setting.
results=()
run_storeyd() {
  local label="$1" batch="$2" folder="$work/$1"
  mkdir -p "$folder"
  start_servers "$folder"
  cat >"$folder/storey.yaml" <<CONF
mqtt:
  url: mqtt://127.0.0.1:$mqtt
  client_id: storeyd-delivery-bench
database: $folder/storey.db
http:
  address: 127.0.0.1:$http
topology: $work/topology.yaml
delivery:
  commit_batch: $batch
  receivers:
    - name: hook-0
      webhook: { url: "http://127.0.0.1:$hook0/hook", secret_files: [$work/whsec] }
    - name: hook-1
      language: zh-Hans
      webhook: { url: "http://127.0.0.1:$hook1/hook", secret_files: [$work/whsec] }
    - name: mail
      email: { server: "smtp://127.0.0.1:$smtp", security: none, from: "storey@example.com", to: [ops@example.com] }
  route:
    receiver: mail
    routes:
      - { receiver: hook-0, continue: true }
      - { receiver: hook-1, continue: true }
      - { receiver: mail }
CONF
  "$bin/storeyd" --config "$folder/storey.yaml" >"$folder/storeyd.log" 2>&1 &
  local storeyd=$!
  pids+=($storeyd)
  until curl -sf "127.0.0.1:$http/healthz" >/dev/null; do sleep 0.1; done
  local db="$folder/storey.db" started_ms started finished
  started_ms=$(date +%s%3N)
  started=$(date +%s.%N)
  sqlite3 -cmd ".timeout 10000" "$db" <"$work/outbox.sql"
  # Done when every message (COUNT per receiver and recipient) is delivered or dead.
  until [[ "$(sqlite3 -cmd ".timeout 5000" "$db" "SELECT COUNT(*) FROM delivery_message WHERE state != 'pending'")" -ge $((3 * count)) ]]; do
    sleep 0.2
  done
  finished=$(date +%s.%N)
  local load peak cpu delivered dead per_receiver
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  peak=$(awk '/VmHWM/{print $2}' /proc/$storeyd/status)
  cpu=$(awk '{printf "%.1f", ($14 + $15) / 100}' /proc/$storeyd/stat)
  delivered=$(sqlite3 "$db" "SELECT COUNT(*) FROM delivery_message WHERE state='delivered'")
  dead=$(sqlite3 "$db" "SELECT COUNT(*) FROM delivery_message WHERE state='dead'")
  # When each receiver's last message was delivered, counted from the moment the rows were appended.
  per_receiver=$(sqlite3 -separator ' ' "$db" \
    "SELECT receiver, printf('%.1fs', (MAX(delivered_at) - $started_ms) / 1000.0) FROM delivery_message GROUP BY receiver ORDER BY receiver" |
    paste -sd, - | sed 's/,/, /g')
  local commits outcomes
  commits=$(curl -s "127.0.0.1:$http/metrics" | awk '/^storey_delivery_outcome_commits_total/{print $2}')
  outcomes=$(curl -s "127.0.0.1:$http/metrics" | awk '/^storey_delivery_outcomes_committed_total/{print $2}')
  kill "$storeyd"
  wait "$storeyd" 2>/dev/null || true
  sleep 0.5
  local loss
  loss=$(python3 - "$folder" "$count" <<'PY'
import glob, json, sys
folder, count = sys.argv[1], int(sys.argv[2])
report = []
for hook in ("hook0", "hook1"):
    rows = [json.loads(line) for line in open(f"{folder}/{hook}.jsonl")]
    ok = [r for r in rows if r["status"] == 200 and r["verified"]]
    outbox = {a["outboxId"] for r in ok for a in r["body"]["alerts"]}
    report.append(f"{hook}: {len(outbox)}/{count} transitions, {len({r['id'] for r in ok})} webhook-ids, {len(rows)} requests")
mails = [json.load(open(f)) for f in glob.glob(f"{folder}/mail/*.json")]
report.append(f"mail: {len({m['message_id'] for m in mails})}/{count} Message-IDs in {len(mails)} mails")
print("; ".join(report))
PY
  )
  stop_servers
  local seconds rate
  seconds=$(python3 -c "print(f'{$finished - $started:.1f}')")
  rate=$(python3 -c "print(f'{3 * $count / ($finished - $started):,.0f}')")
  results+=("storeyd, $label (commit_batch: $batch): drained in ${seconds}s ($rate messages/s; last delivery per receiver: $per_receiver), $outcomes outcomes in $commits commits, CPU ${cpu}s, peak RSS $((peak / 1024)) MB; delivered $delivered, dead $dead; load average at the end $load")
  results+=("  received: $loss")
}
run_storeyd per-message "{ size: 1 }"
run_storeyd batched "{ size: 64, within: 0.02s }"

{
  echo "delivery benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $build build, $count transitions × (2 webhooks + 1 mail recipient); load average at the start $load_at_start"
  printf '%s\n' "${results[@]}"
  echo "reference (Python stdlib clients, same receivers, one connection each): $count webhooks to each receiver in ${reference_hooks}s (in parallel), $count mails in ${reference_mail}s"
} | tee benchmarks/delivery-last-run.txt
