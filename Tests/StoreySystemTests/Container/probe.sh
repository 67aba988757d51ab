#!/bin/bash
# Runs inside the systemd-nspawn container booted by StoreySystemTests (as its probe unit). Installs
# Storey from the package, drives storeyd.service through systemd and writes what it saw to /tmp/out,
# one file per observation; the Swift tests assert on those files. Ends by powering the container off.
#
# In:  /tmp/in/storey.deb, /tmp/in/mosquitto/ (Deploy/mosquitto), /tmp/in/certs/, /tmp/in/broker.service,
#      /tmp/in/topology-small.yaml, /tmp/in/mqtt-password, /tmp/in/gateway-password,
#      /tmp/in/speed.conf (a drop-in: short watchdog and restart delay, so the test takes seconds)
# Out: /tmp/out/*
set -u
in=/tmp/in
out=/tmp/out
trap 'journalctl --no-pager -o short-precise >"$out/journal.txt" 2>&1; touch "$out/done"; systemctl poweroff' EXIT

say() { echo "$(date +%T.%3N) $*" >>"$out/probe.log"; }
show() { systemctl show -p "$2" --value storeyd.service >"$out/$1" 2>&1; }
# Waits up to $1 seconds for the command after it to succeed; 0 if it did.
wait_for() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
is_state() { [[ $(systemctl show -p ActiveState --value storeyd.service) == "$1" ]]; }
metric() { curl -s --max-time 2 http://127.0.0.1:8080/metrics | awk -v name="$1" '$1 == name { print $2 + 0 }'; }
# storeyd's last journal entry now: what follows it is what the next step caused. (Read back with the
# same filter only: journalctl's --after-cursor skips one entry too many when the cursor's own entry
# does not pass the filters.)
journal_mark() { journalctl -u storeyd.service -n 1 -o cat --show-cursor --no-pager | sed -n 's/^-- cursor: //p'; }
since() { journalctl -u storeyd.service --after-cursor="$1" --no-pager "${@:2}"; }
metric_is() { [[ $(metric "$1") == "$2" ]]; }

# This machine's /usr may hold a policy-rc.d that forbids starting services (container images have one);
# a machine booted with systemd does not, and the package's scripts honour it.
rm -f /usr/sbin/policy-rc.d
# The container's /etc starts empty (--volatile=yes): create the accounts that dpkg's database (the
# host's, in the /var overlay) names in its permission overrides, as the host has them.
while read -r owner group _; do
  getent passwd "$owner" >/dev/null || echo "u $owner -" | systemd-sysusers -
  getent group "$group" >/dev/null || echo "g $group -" | systemd-sysusers -
done </var/lib/dpkg/statoverride

say "installing"
dpkg -i "$in/storey.deb" >"$out/install.log" 2>&1
echo $? >"$out/install.rc"
systemctl is-enabled storeyd.service >"$out/enabled-after-install" 2>&1
systemctl is-active storeyd.service >"$out/active-after-install" 2>&1
getent passwd storey >"$out/user" 2>&1
stat -c '%U %G %a' /var/lib/storey /etc/credstore >"$out/folders" 2>&1
systemd-analyze verify /lib/systemd/system/storeyd.service >"$out/verify.txt" 2>&1
echo $? >"$out/verify.rc"

say "configuring: storeyd logs in to the broker as 'storey' with a credential from /etc/credstore"
install -m 600 "$in/mqtt-password" /etc/credstore/storey.mqtt-password
sed -i -e 's|^  # username: storey|  username: storey|' \
  -e 's|^  # password_credential: mqtt-password.*|  password_credential: mqtt-password|' /etc/storey/storey.yaml
grep -E '^  (username|password_credential):' /etc/storey/storey.yaml >"$out/config-edits"
mkdir -p /etc/systemd/system/storeyd.service.d
cp "$in/speed.conf" /etc/systemd/system/storeyd.service.d/speed.conf

say "the broker, configured from Deploy/mosquitto, with accounts for storeyd and a gateway"
install -D -m 644 "$in/mosquitto/storey.conf" /etc/mosquitto/conf.d/storey.conf
install -D -m 644 "$in/mosquitto/storey.acl" /etc/mosquitto/storey.acl
install -d /etc/mosquitto/certs
install -m 644 "$in/certs/ca.crt" "$in/certs/server.crt" "$in/certs/server.key" /etc/mosquitto/certs/
echo 'u mosquitto - "mosquitto" /var/lib/mosquitto' | systemd-sysusers -
install -d -o mosquitto -g mosquitto /var/lib/mosquitto
mosquitto_passwd -c -b /etc/mosquitto/storey.passwd storey "$(cat "$in/mqtt-password")"
mosquitto_passwd -b /etc/mosquitto/storey.passwd gateway-tower-a "$(cat "$in/gateway-password")"
chown root:mosquitto /etc/mosquitto/storey.passwd /etc/mosquitto/certs/server.key
chmod 640 /etc/mosquitto/storey.passwd /etc/mosquitto/certs/server.key
cp "$in/broker.service" /etc/systemd/system/storey-test-broker.service
systemctl daemon-reload

say "start with the broker down: activating, not active"
start_time=$SECONDS
systemctl --no-block start storeyd.service
sleep 4
systemctl show -p ActiveState -p SubState storeyd.service >"$out/state-without-broker"

say "broker up: active once storeyd is subscribed"
systemctl start storey-test-broker.service
wait_for 30 is_state active
echo $((SECONDS - start_time)) >"$out/seconds-to-active"
systemctl show -p ActiveState -p SubState -p StatusText storeyd.service >"$out/state-with-broker"
journalctl -u storeyd.service -o cat --no-pager >"$out/journal-start.txt"

say "the dashboard and the OpenAPI document, from the resources the package installed"
curl -s --max-time 5 -o "$out/dashboard.html" -w '%{http_code} %{content_type}\n' http://127.0.0.1:8080/ >"$out/dashboard-status" 2>&1
curl -s --max-time 5 -o "$out/dashboard.js" -w '%{http_code}\n' http://127.0.0.1:8080/dashboard.js >"$out/dashboard-js-status" 2>&1
curl -s --max-time 5 -o /dev/null -w '%{http_code}\n' http://127.0.0.1:8080/api/v1/openapi.yaml >"$out/openapi-status" 2>&1

say "credentials"
credentials=/run/credentials/storeyd.service
stat -c '%U %a %n' "$credentials" "$credentials"/* >"$out/credential-modes" 2>&1
for account in nobody storey-probe; do
  [[ $account == storey-probe ]] && echo 'u storey-probe - "probe" /' | systemd-sysusers -
  if setpriv --reuid="$account" --regid="$(id -g "$account")" --clear-groups cat "$credentials/mqtt-password" >/dev/null 2>"$out/credential-as-$account.err"; then
    echo read >"$out/credential-as-$account"
  else
    echo refused >"$out/credential-as-$account"
  fi
done
stat -c '%U %G %a' /etc/credstore/storey.mqtt-password >"$out/credstore-mode"

say "the example ACL: the gateway may publish its own building, not another"
mosquitto_sub -h 127.0.0.1 -u storey -P "$(cat "$in/mqtt-password")" -t 'storey/#' -W 6 -v >"$out/acl-received" 2>&1 &
sub=$!
sleep 1
gateway=(-u gateway-tower-a -P "$(cat "$in/gateway-password")")
mosquitto_pub -h 127.0.0.1 -p 8883 --cafile /etc/mosquitto/certs/ca.crt "${gateway[@]}" -t storey/tower-b/3/b3/b3-kw -m 1 -q 1 2>>"$out/acl-publish.err"
mosquitto_pub -h 127.0.0.1 -p 8883 --cafile /etc/mosquitto/certs/ca.crt "${gateway[@]}" -t storey/tower-a/3/a3-east/a3-east-kw -m 42.5 -q 1 2>>"$out/acl-publish.err"
wait "$sub"
metric storey_readings_accepted_total >"$out/readings-accepted" 2>&1

say "descriptors: the MQTT connection above number 1024 still works (storeyd polls; LimitNOFILE=65536)"
pid=$(systemctl show -p MainPID --value storeyd.service)
awk '/Max open files/ { print $4 }' "/proc/$pid/limits" >"$out/max-open-files"
# systemd cannot grant more than the container itself was given.
awk '/Max open files/ { print $5 }' /proc/1/limits >"$out/container-open-files-limit"
mqtt_connected() { metric_is storey_mqtt_connected "$1"; }
systemctl stop storey-test-broker.service
wait_for 10 mqtt_connected 0
# 1,100 idle HTTP connections to storeyd take its lowest free descriptor numbers, so the broker
# connection made next gets one above 1024, where select() (libmosquitto's own loop) would fail.
ulimit -n 4096
(
  for ((i = 0; i < 1100; i++)); do exec {connection}<>/dev/tcp/127.0.0.1/8080 || break; done
  echo "$i" >"$out/http-connections"
  sleep 30
) &
holder=$!
wait_for 20 test -s "$out/http-connections"
accepted_before=$(metric storey_readings_accepted_total)
systemctl start storey-test-broker.service
wait_for 20 mqtt_connected 1
ss -tnpH state established '( dport = :1883 )' | sed -n 's/.*"storeyd",pid=[0-9]*,fd=\([0-9]*\).*/\1/p' >"$out/mqtt-descriptor"
mosquitto_pub -h 127.0.0.1 -p 8883 --cafile /etc/mosquitto/certs/ca.crt "${gateway[@]}" -t storey/tower-a/3/a3-east/a3-east-kw -m 43 -q 1
accepted_more() { [[ $(metric storey_readings_accepted_total) -gt $accepted_before ]]; }
wait_for 10 accepted_more
echo "$accepted_before $(metric storey_readings_accepted_total)" >"$out/accepted-with-high-descriptor"
kill "$holder"; wait "$holder" 2>/dev/null

say "reload: the demo tower replaced by a small topology"
metric storey_points >"$out/points-before"
storey topics --config /etc/storey/storey.yaml | wc -l >"$out/topics-before"
install -m 644 "$in/topology-small.yaml" /etc/storey/topology.yaml
systemctl reload storeyd.service
echo $? >"$out/reload.rc"
wait_for 10 metric_is storey_points 3
metric storey_points >"$out/points-after"
storey topics --config /etc/storey/storey.yaml | wc -l >"$out/topics-after"
storey topics --config /etc/storey/storey.yaml | grep -c a3-east-water-meter >"$out/topics-new-point"

say "reload with a broken configuration"
reload_mark=$(journal_mark)
sed -i 's/quantity: water,/quantity: wattage,/' /etc/storey/topology.yaml
systemctl reload storeyd.service
sleep 2
systemctl is-active storeyd.service >"$out/active-after-broken-reload"
metric storey_points >"$out/points-after-broken-reload"
since "$reload_mark" -o cat >"$out/journal-broken-reload.txt"
install -m 644 "$in/topology-small.yaml" /etc/storey/topology.yaml

say "journal priorities"
for priority in err warning notice info; do
  journalctl -u storeyd.service -p "$priority..$priority" -o cat --no-pager >"$out/journal-priority-$priority.txt"
done

say "watchdog: a stopped daemon is killed and restarted"
show restarts-before NRestarts
show mainpid-before MainPID
watchdog_mark=$(journal_mark)
kill -STOP "$(cat "$out/mainpid-before")"
restarted() { [[ $(systemctl show -p NRestarts --value storeyd.service) -gt $(cat "$out/restarts-before") ]]; }
wait_for 30 restarted
wait_for 30 is_state active
show restarts-after NRestarts
show mainpid-after MainPID
systemctl is-active storeyd.service >"$out/active-after-watchdog"
since "$watchdog_mark" -o cat >"$out/journal-watchdog.txt"

say "stop: drain and exit cleanly"
stop_mark=$(journal_mark)
for reading in 1 2 3 4 5; do
  mosquitto_pub -h 127.0.0.1 -p 8883 --cafile /etc/mosquitto/certs/ca.crt "${gateway[@]}" -t storey/tower-a/3/a3-east/a3-east-kw -m "$reading" -q 1
done
stop_started=$(date +%s%N)
timeout 100 systemctl stop storeyd.service
echo $? >"$out/stop.rc"
echo $((($(date +%s%N) - stop_started) / 1000000)) >"$out/stop-milliseconds"
systemctl show -p ActiveState -p Result -p ExecMainCode -p ExecMainStatus storeyd.service >"$out/state-after-stop"
since "$stop_mark" -o cat >"$out/journal-stop.txt"

say "upgrade over itself: a running service is restarted, configuration edits stay"
echo "# edited by the operator" >>/etc/storey/storey.yaml
systemctl start storeyd.service
wait_for 30 is_state active
show mainpid-before-upgrade MainPID
dpkg -i "$in/storey.deb" >"$out/upgrade.log" 2>&1
echo $? >"$out/upgrade.rc"
mainpid_changed() { [[ $(systemctl show -p MainPID --value storeyd.service) != "$(cat "$out/mainpid-before-upgrade")" ]]; }
wait_for 30 mainpid_changed
wait_for 30 is_state active
show mainpid-after-upgrade MainPID
systemctl is-active storeyd.service >"$out/active-after-upgrade"
tail -1 /etc/storey/storey.yaml >"$out/config-after-upgrade"
grep -c 'id: a3-east-water-meter' /etc/storey/topology.yaml >"$out/topology-after-upgrade"
grep -c 'password_credential: mqtt-password' /etc/storey/storey.yaml >"$out/credential-line-after-upgrade"

say "remove, then purge"
dpkg -r storey >"$out/remove.log" 2>&1
echo $? >"$out/remove.rc"
systemctl is-active storeyd.service >"$out/active-after-remove" 2>&1
ls /usr/bin/storeyd /usr/bin/storey /etc/storey/storey.yaml /var/lib/storey/storey.db >"$out/after-remove" 2>&1
dpkg -P storey >"$out/purge.log" 2>&1
echo $? >"$out/purge.rc"
ls -d /etc/storey /var/lib/storey /etc/credstore/storey.mqtt-password /lib/systemd/system/storeyd.service >"$out/after-purge" 2>&1
dpkg-query -W -f='${Status}\n' storey >"$out/status-after-purge" 2>&1
say "done"
