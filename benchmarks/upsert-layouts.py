#!/usr/bin/env python3
"""How much a figure row's upsert costs SQLite in three layouts, on the pattern of a drain over 100,000 points.

Per reading (10 s apart, round-robin over the points): its point's hour row, its space's minute and hour rows;
the contributions merged and sorted every 2,400 readings (a take), a transaction every 10,000 readings, with
storeyd's pragmas. The takes are made first; only the SQL is timed (Python's executemany included).

  composite   figure_row as it is: WITHOUT ROWID, key (scope, quantity, resolution, window_start), all eight
              columns merged in the DO UPDATE
  packed      the same row in a rowid table whose rowid is the key packed in one integer
  narrow      as composite, with only amount and readings in the DO UPDATE

  benchmarks/upsert-layouts.py [READINGS] [POINTS]     (defaults: 400,000 readings over 100,000 points)
Runs composite, packed and narrow twice each, alternating, in a temporary folder.
"""
import os
import sqlite3
import sys
import tempfile
import time

COLUMNS = ("amount REAL NOT NULL, sample_sum REAL NOT NULL, sample_count INTEGER NOT NULL, sample_max REAL, "
           "level_sum REAL NOT NULL, level_minutes INTEGER NOT NULL, level_peak REAL, readings INTEGER NOT NULL")
FULL = """amount = amount + excluded.amount, sample_sum = sample_sum + excluded.sample_sum,
    sample_count = sample_count + excluded.sample_count,
    sample_max = CASE WHEN sample_max IS NULL THEN excluded.sample_max WHEN excluded.sample_max IS NULL THEN sample_max
        ELSE MAX(sample_max, excluded.sample_max) END,
    level_sum = level_sum + excluded.level_sum, level_minutes = level_minutes + excluded.level_minutes,
    level_peak = CASE WHEN level_peak IS NULL THEN excluded.level_peak WHEN excluded.level_peak IS NULL THEN level_peak
        ELSE MAX(level_peak, excluded.level_peak) END,
    readings = readings + excluded.readings"""
NARROW = "amount = amount + excluded.amount, readings = readings + excluded.readings"


def takes(readings, points):
    """The transactions, each a list of takes, each a sorted list of (scope, quantity, resolution, start, values)."""
    transactions, transaction, pending = [], [], {}

    def take():
        transaction.append([key + (pending[key],) for key in sorted(pending)])
        pending.clear()

    t0 = 1_764_000_000
    for index in range(readings):
        point = index % points
        time_ = t0 + index // points * 10
        quantity, space = point % 4 + 1, points + point // 4
        values = (0.0, 1.0, 1, 1.0, 0.5, 1, 1.0, 1)
        for key in ((point, quantity, 2, time_ - time_ % 3600), (space, quantity, 1, time_ - time_ % 60),
                    (space, quantity, 2, time_ - time_ % 3600)):
            old = pending.get(key)
            pending[key] = values if old is None else tuple(a + b for a, b in zip(old, values))
        if len(pending) >= 7200:
            take()
        if (index + 1) % 10_000 == 0:
            take()
            transactions.append(transaction)
            transaction = []
    if pending:
        take()
    if transaction:
        transactions.append(transaction)
    return transactions


def run(layout, transactions, folder):
    path = os.path.join(folder, f"{layout}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-16384", "wal_autocheckpoint=16384", "mmap_size=0"):
        db.execute("PRAGMA " + pragma)
    if layout == "packed":
        db.execute(f"CREATE TABLE f (id INTEGER PRIMARY KEY, scope INTEGER NOT NULL, quantity INTEGER NOT NULL, "
                   f"resolution INTEGER NOT NULL, window_start INTEGER NOT NULL, {COLUMNS})")
        sql = f"INSERT INTO f VALUES ({','.join('?' * 13)}) ON CONFLICT(id) DO UPDATE SET {FULL}"
        row = lambda s, q, r, w, v: ((s << 32) | (q << 28) | (r << 24) | (w // 60 - 29_000_000), s, q, r, w) + v
    else:
        db.execute(f"CREATE TABLE f (scope INTEGER NOT NULL, quantity INTEGER NOT NULL, resolution INTEGER NOT NULL, "
                   f"window_start INTEGER NOT NULL, {COLUMNS}, PRIMARY KEY (scope, quantity, resolution, window_start)) WITHOUT ROWID")
        sql = f"INSERT INTO f VALUES ({','.join('?' * 12)}) ON CONFLICT DO UPDATE SET {NARROW if layout == 'narrow' else FULL}"
        row = lambda s, q, r, w, v: (s, q, r, w) + v
    prepared = [[[row(*entry[:4], entry[4]) for entry in take] for take in transaction] for transaction in transactions]
    upserts = sum(len(take) for transaction in prepared for take in transaction)
    start = time.process_time()
    for transaction in prepared:
        db.execute("BEGIN")
        for take in transaction:
            db.executemany(sql, take)
        db.execute("COMMIT")
    seconds = time.process_time() - start
    db.close()
    return upserts, seconds


def main():
    readings = int(sys.argv[1]) if len(sys.argv) > 1 else 400_000
    points = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    transactions = takes(readings, points)
    print(f"SQLite {sqlite3.sqlite_version}, {readings:,} readings over {points:,} points")
    with tempfile.TemporaryDirectory(prefix="storey-upserts.") as folder:
        for layout in ("composite", "packed", "narrow") * 2:
            upserts, seconds = run(layout, transactions, folder)
            print(f"{layout:10} {upserts:,} upserts, {seconds:.2f} s CPU, {seconds / upserts * 1e6:.2f} µs an upsert")


if __name__ == "__main__":
    main()
