#!/usr/bin/env python3
"""Where storeyd's writer spends a drain, by stage: reads `perf.data` recorded by
`PERF_CALLGRAPH="--call-graph dwarf,16384" benchmarks/drain.sh COUNT POINTS perf` and attributes each
sample of the writer threads (Dispatch's `…-qos.overcommit`) to the first stage its stack shows.

  benchmarks/writer-profile.py [benchmarks/perf.data]

Stages, in the order they are tested (a sample belongs to the first that matches):
  figure rows upserted   FigureRowUpsert: SQLite adding contributions to figure_row
  figure rows taken      the rest of a take: contributions collected, sorted, building windows noted
  history lookups        StoredHistory: what the aggregator asks of storage (first touches, out of order)
  aggregation            Aggregator.add and what it calls
  decoding and binding   payload decoding, topic to point
  commit                 the batch's transaction committed (WAL pages written)
  readings inserted      the raw readings' INSERT (the remaining SQLite steps inside the batch)
  other                  Dispatch, GRDB's transaction, the batch's bookkeeping
"""
import collections
import subprocess
import sys

STAGES = [
    ("figure rows upserted", ("FigureRowUpsert",)),
    ("figure rows taken", ("addPendingFigures", "takePending", "addFigures")),
    ("history lookups", ("StoredHistory",)),
    ("aggregation", ("Aggregator",)),
    ("decoding and binding", ("ReadingBinder", "PayloadDecoder", "BatchBindingV4bind")),
    ("commit", ("DatabaseC6commit", "CommitPhase")),
    ("readings inserted", ("sqlite3_step",)),
]


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "benchmarks/perf.data"
    script = subprocess.run(
        ["perf", "script", "-i", data, "--comm=-qos.overcommit", "-F", "ip,sym"],
        capture_output=True, text=True, check=True).stdout
    counts = collections.Counter()
    total = 0
    for block in script.split("\n\n"):
        stack = block.strip()
        if not stack:
            continue
        total += 1
        stage = next((name for name, marks in STAGES if any(mark in stack for mark in marks)), "other")
        counts[stage] += 1
    if total == 0:
        sys.exit(f"writer-profile: no writer samples in {data} (recorded with call graphs?)")
    for name, _ in STAGES + [("other", ())]:
        print(f"{counts[name] * 100 / total:5.1f} %  {name}")
    print(f"({total} samples of the writer threads)")


if __name__ == "__main__":
    main()
