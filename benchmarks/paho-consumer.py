#!/usr/bin/env python3
"""The reference consumer for the intake benchmarks: what an operator would otherwise write in Python.

paho-mqtt (MQTT 5) subscribed to the tower's topics; each message's JSON payload {"value": …, "ts": …}
decoded, its topic mapped to a point and, through the point's space and that space's lease, to a tenant;
per tenant, quantity and minute the sum, count, minimum and maximum kept (the figures Storey keeps per
tenant). With --database, every reading and the tenant minutes it touched are also written to SQLite
in batches of 10,000 (WAL, synchronous NORMAL, as Storey's store) by a writer thread, so that "storing"
is compared fairly.

  paho-consumer.py --topology T.yaml --port P --qos Q --client-id ID [--session] [--count N] [--database DB]
  paho-consumer.py --topology T.yaml --port P --qos Q --client-id ID --subscribe-only   # make the session, leave

Prints a line when it is connected, when subscribed and when done, with times as Unix seconds (the clock of
bash's $EPOCHREALTIME, which the benchmark scripts read without starting a process):
  connected TIME
  subscribed TIME
  done received=N stored=N last=TIME connected=TIME tenant_minutes=N rejected=N peak_rss_mb=N cpu_s=N longest_gap_s=N cpu_before_connected_s=N
"""
import argparse
import datetime
import json
import queue
import resource
import sqlite3
import sys
import threading
import time

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def epoch_ms(day):
    """A lease date (YAML gives a date) as milliseconds since the epoch, at UTC midnight."""
    if day is None:
        return None
    if isinstance(day, str):
        day = datetime.date.fromisoformat(day)
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc).timestamp() * 1000)


def read_topology(path):
    """topic -> (point id, quantity, [(lease start ms, lease end ms or None, tenant)]), by Storey's
    topic rule: a point's own `topic`, else PREFIX/BUILDING/LEVEL/SPACE/POINT (`-` for a floor's point)."""
    with open(path) as file:
        document = yaml.load(file, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    prefix = document.get("topic_prefix", "storey")
    leases = {}
    for tenant in document.get("tenants") or []:
        for lease in tenant.get("leases") or []:
            leases.setdefault(lease["space"], []).append((epoch_ms(lease.get("start")), epoch_ms(lease.get("end")), tenant["id"]))
    points = {}
    for building in document["buildings"]:
        for floor in building["floors"]:
            base = f"{prefix}/{building['id']}/{floor['level']}"
            for point in floor.get("points") or []:
                points[point.get("topic") or f"{base}/-/{point['id']}"] = (point["id"], point["quantity"], [])
            for space in floor.get("spaces") or []:
                for point in space.get("points") or []:
                    topic = point.get("topic") or f"{base}/{space['id']}/{point['id']}"
                    points[topic] = (point["id"], point["quantity"], leases.get(space["id"], []))
    return prefix, points


class Consumer:
    def __init__(self, points, database, batch):
        self.points = points
        self.received = 0
        self.stored = 0
        self.rejected = 0
        self.last = None
        self.longest_gap = 0.0  # the longest wait between two messages: a stall shows here
        # (tenant, quantity, minute) -> [sum, count, min, max]
        self.tenant_minutes = {}
        self.database = SQLiteWriter(database) if database else None
        self.batch = batch
        self.pending_readings = []
        self.pending_minutes = set()
        self.flushed_at = time.time()

    def on_message(self, client, userdata, message):
        self.received += 1
        point = self.points.get(message.topic)
        try:
            payload = json.loads(message.payload)
            value = float(payload["value"])
            ts = payload.get("ts")
            # Unix seconds, or milliseconds above 10^11 (as Storey reads them); none: the time of receipt.
            millis = int(time.time() * 1000) if ts is None else int(ts if ts > 1e11 else ts * 1000)
        except (ValueError, TypeError, KeyError, AttributeError):
            point = None
        if point is None:
            self.rejected += 1
        else:
            point_id, quantity, leases = point
            minute = millis // 60000
            for start, end, tenant in leases:
                if (start is None or start <= millis) and (end is None or millis < end):
                    key = (tenant, quantity, minute)
                    figures = self.tenant_minutes.get(key)
                    if figures is None:
                        self.tenant_minutes[key] = [value, 1, value, value]
                    else:
                        figures[0] += value
                        figures[1] += 1
                        if value < figures[2]:
                            figures[2] = value
                        if value > figures[3]:
                            figures[3] = value
                    if self.database is not None:
                        self.pending_minutes.add(key)
            if self.database is None:
                self.stored += 1
            else:
                self.pending_readings.append((point_id, millis, value))
                if len(self.pending_readings) >= self.batch:
                    self.flush()
        now = time.time()
        if self.last is not None and now - self.last > self.longest_gap:
            self.longest_gap = now - self.last
        self.last = now

    def flush(self):
        """Hands the batch's readings and the current figures of the tenant minutes it touched to the writer."""
        if self.database is None or not (self.pending_readings or self.pending_minutes):
            return
        self.database.write(self.pending_readings, [key + tuple(self.tenant_minutes[key]) for key in self.pending_minutes])
        self.pending_readings = []
        self.pending_minutes = set()
        self.flushed_at = time.time()

    def finish(self):
        """Stores what is pending and waits until the writer has committed everything."""
        self.flush()
        if self.database is not None:
            self.database.close()
            self.stored = self.database.stored
            self.last = time.time()


class SQLiteWriter:
    """Writes batches on a thread of its own, one transaction each, so the network loop is never held up
    by the disk (as paho's documentation asks of callbacks; SQLite releases the GIL while it works)."""

    def __init__(self, path):
        self.path = path
        self.stored = 0
        self.batches = queue.Queue(maxsize=8)  # bounded: a slow disk slows intake instead of filling memory
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.ready = threading.Event()
        self.thread.start()
        self.ready.wait()

    def run(self):
        database = sqlite3.connect(self.path)
        database.execute("PRAGMA journal_mode = WAL")
        database.execute("PRAGMA synchronous = NORMAL")
        database.execute(
            "CREATE TABLE IF NOT EXISTS readings (point TEXT NOT NULL, time INTEGER NOT NULL, value REAL NOT NULL,"
            " PRIMARY KEY (point, time)) WITHOUT ROWID")
        database.execute(
            "CREATE TABLE IF NOT EXISTS tenant_minutes (tenant TEXT NOT NULL, quantity TEXT NOT NULL,"
            " minute INTEGER NOT NULL, sum REAL, count INTEGER, min REAL, max REAL,"
            " PRIMARY KEY (tenant, quantity, minute)) WITHOUT ROWID")
        database.commit()
        self.ready.set()
        while (batch := self.batches.get()) is not None:
            readings, minutes = batch
            with database:
                database.executemany("INSERT OR REPLACE INTO readings VALUES (?, ?, ?)", readings)
                database.executemany("INSERT OR REPLACE INTO tenant_minutes VALUES (?, ?, ?, ?, ?, ?, ?)", minutes)
            self.stored += len(readings)
        database.close()

    def write(self, readings, minutes):
        self.batches.put((readings, minutes))

    def close(self):
        self.batches.put(None)
        self.thread.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--qos", type=int, default=1)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--session", action="store_true", help="persistent session (clean start off, expiry 1 h)")
    parser.add_argument("--subscribe-only", action="store_true", help="make the persistent session and subscription, then leave")
    parser.add_argument("--count", type=int, default=0, help="stop after this many messages (0: only when idle)")
    parser.add_argument("--idle", type=float, default=15, help="stop after this many seconds without a message")
    parser.add_argument("--database", help="also store readings and tenant minutes in this SQLite file")
    parser.add_argument("--batch", type=int, default=10000, help="readings per SQLite transaction")
    parser.add_argument("--keepalive", type=int, default=30, help="MQTT keep-alive, seconds (30: as storeyd)")
    arguments = parser.parse_args()

    prefix, points = read_topology(arguments.topology)
    consumer = Consumer(points, arguments.database, arguments.batch)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=arguments.client_id, protocol=mqtt.MQTTv5)
    connected = []
    cpu_at_connect = []  # CPU seconds spent before the broker answered: reading the topology, mostly

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            sys.exit(f"paho-consumer: connection refused: {reason_code}")
        connected.append(time.time())
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_at_connect.append(usage.ru_utime + usage.ru_stime)
        print(f"connected {connected[0]:.4f}", flush=True)
        client.subscribe(f"{prefix}/#", qos=arguments.qos)

    client.on_connect = on_connect
    client.on_message = consumer.on_message
    properties = Properties(PacketTypes.CONNECT)
    properties.ReceiveMaximum = 1000  # as storeyd's benchmark configuration
    session = arguments.session or arguments.subscribe_only
    if session:
        properties.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", arguments.port, keepalive=arguments.keepalive, clean_start=not session, properties=properties)

    subscribed = []
    def on_subscribe(client, userdata, mid, reason_codes, properties):
        subscribed.append(True)
        print(f"subscribed {time.time():.4f}", flush=True)

    client.on_subscribe = on_subscribe
    while not (arguments.subscribe_only and subscribed):
        client.loop(timeout=0.5)
        now = time.time()
        if consumer.database is not None and consumer.pending_readings and now - consumer.flushed_at > 1:
            consumer.flush()  # a slow stream is stored within about a second
        if arguments.count and consumer.received >= arguments.count:
            break
        if connected and now - (consumer.last or connected[0]) > arguments.idle:
            break
    consumer.finish()
    last = consumer.last or time.time()
    client.disconnect()
    client.loop(timeout=0.5)  # sends the last acknowledgements and the DISCONNECT
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"done received={consumer.received} stored={consumer.stored} last={last:.4f} "
          f"connected={connected[0] if connected else 0:.4f} tenant_minutes={len(consumer.tenant_minutes)} "
          f"rejected={consumer.rejected} peak_rss_mb={usage.ru_maxrss / 1024:.0f} cpu_s={usage.ru_utime + usage.ru_stime:.1f} longest_gap_s={consumer.longest_gap:.1f} "
          f"cpu_before_connected_s={cpu_at_connect[0] if cpu_at_connect else 0:.1f}", flush=True)


if __name__ == "__main__":
    main()
