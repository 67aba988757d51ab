#!/usr/bin/env python3
"""Writes a benchmark tower: POINTS points (4 per space: power, energy, occupancy, presence) on
spaces of 20 m², 500 spaces a floor, one tenant per 10 spaces. With BUILDINGS, an estate of that many
towers (b0, b1, …) sharing the points. Usage: make-topology.py POINTS [BUILDINGS] > topology.yaml"""
import sys

points = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
buildings = int(sys.argv[2]) if len(sys.argv) > 2 else 1
spaces = (points + 3) // 4
per_floor = 500
per_building = (spaces + buildings - 1) // buildings
quantities = ["power", "energy", "occupancy", "presence"]
out = ["topic_prefix: bench", "buildings:"]
made = 0
for building in range(buildings):
    first, last = building * per_building, min(spaces, (building + 1) * per_building)
    if first >= last:
        break
    name = "b" if buildings == 1 else f"b{building}"
    out += [f"  - id: {name}", "    time_zone: Asia/Shanghai", "    land_area: 20000", "    floors:"]
    for floor in range((last - first + per_floor - 1) // per_floor):
        out += [f"      - level: {floor + 1}", f"        area: {per_floor * 20 + 100}", "        spaces:"]
        for index in range(first + floor * per_floor, min(last, first + (floor + 1) * per_floor)):
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
