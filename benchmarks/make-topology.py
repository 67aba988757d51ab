#!/usr/bin/env python3
"""Writes a benchmark tower: POINTS points (4 per space: power, energy, occupancy, presence) on
spaces of 20 m², 500 spaces a floor, one tenant per 10 spaces. Usage: make-topology.py POINTS > topology.yaml"""
import sys

points = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
spaces = (points + 3) // 4
per_floor = 500
floors = (spaces + per_floor - 1) // per_floor
quantities = ["power", "energy", "occupancy", "presence"]
out = ["topic_prefix: bench", "buildings:", "  - id: b", "    time_zone: Asia/Shanghai", "    land_area: 20000", "    floors:"]
made = 0
for floor in range(floors):
    out += [f"      - level: {floor + 1}", f"        area: {per_floor * 20 + 100}", "        spaces:"]
    for s in range(per_floor):
        index = floor * per_floor + s
        if index >= spaces:
            break
        out += [f"          - id: s{index}", "            area: 20", "            capacity: 4", "            points:"]
        for q in quantities:
            if made < points:
                out.append(f"              - {{ id: p{made}, quantity: {q} }}")
                made += 1
out.append("tenants:")
for t in range((spaces + 9) // 10):
    out += [f"  - id: t{t}", "    leases:"]
    for s in range(t * 10, min(spaces, t * 10 + 10)):
        out.append(f"      - {{ space: s{s}, start: 2020-01-01 }}")
print("\n".join(out))
