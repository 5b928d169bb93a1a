"""The benchmarks' HTTP load generator: N keep-alive connections, closed loop (the server's capacity) or paced at a
rate (latency counted from when each request was due, so a stalled server cannot hide its queue), run in a process
of its own so that it shares no event loop or GIL with the server. Requests are raw HTTP/1.1, built once per
connection from a spec: {"method": "GET", "path": ...} (or "paths": [...], one at random each time) or {"method": "POST", "path": ..., "bodies": [...],
"key": <API key>, "unique": <bool>}; "ok" is the status counted as accepted.

Also what the benchmarks report beside their figures: how many processes serve, and the machine's load. Imported by
the benchmarks as `load` (they run as scripts from bench/), and by its own subprocess.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path


def _requests(host: str, spec: dict):
    """A function returning the next request's bytes: `GET path`, or a POST of one of the spec's JSON bodies, sent
    with the spec's API key; with `"unique": true`, each body's `%s` becomes a new UUID (the survey's
    submission_id: every request a new submission)."""
    if spec["method"] == "GET":  # one path, or a random one of `paths` each time
        requests = [f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
                    for path in spec.get("paths") or [spec["path"]]]
        return lambda rng: rng.choice(requests)
    head = (f"POST {spec['path']} HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {spec['key']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: ")
    bodies = spec["bodies"]

    def post(rng: random.Random) -> bytes:
        body = rng.choice(bodies)
        if spec.get("unique"):
            body = body % uuid.UUID(int=rng.getrandbits(128), version=4)
        body = body.encode()
        return f"{head}{len(body)}\r\n\r\n".encode() + body

    return post


async def _client(host: str, port: int, spec: dict, until: float, latencies: list[float], codes: dict,
                  interval: float | None = None) -> None:
    """One keep-alive connection. Without `interval`, the next request leaves when the answer is in (a closed
    loop: the server's capacity); with it, requests are due every `interval` seconds and latency counts from
    when a request was due, so a stalled server cannot hide its queue."""
    reader, writer = await asyncio.open_connection(host, port)
    rng = random.Random()
    make = _requests(host, spec)
    due = time.perf_counter() + rng.random() * (interval or 0)  # connections start staggered
    try:
        while time.perf_counter() < until:
            if interval:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            request = make(rng)
            started = due if interval else time.perf_counter()
            writer.write(request)
            status = (await reader.readline()).split(b" ")[1]
            length = 0
            while (line := await reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            codes[status] = codes.get(status, 0) + 1
            due += interval or 0
    finally:
        writer.close()


async def _load(host: str, port: int, spec: dict, seconds: float, connections: int, rate: float | None = None) -> dict:
    """Two seconds of warm-up, then `seconds` of load; the figures of the measured part, and `answered`: the
    status counts of every request, warm-up included (every 201 must be in Kafka)."""
    latencies: list[float] = []
    codes: dict = {}
    warm_codes: dict = {}
    interval = connections / rate if rate else None

    async def run(until: float, into: list[float], counts: dict) -> None:
        # Every request sent is answered before its connection ends; a hung server fails the run.
        await asyncio.wait_for(asyncio.gather(*(_client(host, port, spec, until, into, counts, interval)
                                                for _ in range(connections))), until - time.perf_counter() + 60)

    await run(time.perf_counter() + 2, [], warm_codes)
    started = time.perf_counter()
    await run(started + seconds, latencies, codes)
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    answered = {k.decode(): codes.get(k, 0) + warm_codes.get(k, 0) for k in {*codes, *warm_codes}}
    return {"requests": len(ordered), "ok_rps": codes.get(spec["ok"].encode(), 0) / elapsed,
            "p50_ms": 1000 * ordered[len(ordered) // 2], "p99_ms": 1000 * ordered[int(len(ordered) * 0.99)],
            "codes": {k.decode(): v for k, v in codes.items()}, "answered": answered}


def load_process(port: int, spec: dict, seconds: float, connections: int, rate: float | None = None,
                 during: Callable[[], object] | None = None) -> dict:
    """Run the load generator in a separate Python process (it shares no event loop or GIL with the server; the
    2 cores it does share) and return its figures;
    `during()` is called once the measured part runs, and what it returns is the figures' `during`."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as listing:
        json.dump(spec, listing)
        listing.flush()
        code = ("import asyncio, json, sys; sys.path.insert(0, sys.argv[1]); import load as s; "
                "print(json.dumps(asyncio.run(s._load('127.0.0.1', int(sys.argv[2]), json.load(open(sys.argv[3])), "
                "float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]) or None))))")
        generator = subprocess.Popen([sys.executable, "-c", code, str(Path(__file__).parent), str(port),
                                      listing.name, str(seconds), str(connections), str(rate or 0)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            seen = during() if during else None
            out, err = generator.communicate(timeout=seconds + 180)
        finally:
            if generator.poll() is None:
                generator.kill()
                generator.wait()
    if generator.returncode:
        raise RuntimeError(f"the load generator failed:\n{err}")
    return {**json.loads(out), "during": seen}


def server_processes(api: subprocess.Popen) -> int:
    """The processes answering: the server itself with one worker, else its uvicorn worker children."""
    children = subprocess.run(["ps", "--ppid", str(api.pid), "-o", "args="], capture_output=True, text=True).stdout
    workers = [line for line in children.splitlines() if "multiprocessing" in line and "resource_tracker" not in line]
    return len(workers) or 1


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())
