#!/usr/bin/env python3
"""Holds N Server-Sent Events clients on storeyd's /api/v1/events for SECONDS, reading everything.

usage: sse-clients.py N HOST PORT TOKEN SECONDS
Prints one line: clients connected, clients whose stream ended early (dropped), events and bytes read.
"""
import asyncio
import signal
import sys

n, host, port, token, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
stats = {"connected": 0, "ended": 0, "events": 0, "bytes": 0, "refused": 0}


async def client():
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        stats["refused"] += 1
        return
    writer.write(f"GET /api/v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        stats["refused"] += 1
        return
    stats["connected"] += 1
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            stats["ended"] += 1
            return
        stats["bytes"] += len(chunk)
        stats["events"] += chunk.count(b"\nevent: ")


async def main():
    tasks = [asyncio.create_task(client()) for _ in range(n)]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)  # the benchmark's "done"
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(f"sse clients: {stats['connected']} connected, {stats['refused']} refused, {stats['ended']} dropped by the server, "
          f"{stats['events']} events, {stats['bytes'] / 1e6:.1f} MB read")


asyncio.run(main())
