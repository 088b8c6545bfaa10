"""Crash test for the embedded store: kill a writer with SIGKILL at random moments, then check
that every write it had acknowledged is there and the store opens.

    .venv/bin/python bench/crash_store.py [--rounds 200] [--seed 1]

Each round starts a child process that inserts sessions, closes some (moving them to their
month's partition, the riskiest write), upserts a hot record, appends audit entries and every
fifth step rewrites a 300-row registry in one batch (``upsert_many``, as the consent import does),
printing each key only after the store acknowledged it. A batch must be found whole or not at all. The parent kills the child after a random delay,
reopens the store, and checks every acknowledged key and value. Prints the totals; exits 1 on any
loss or unreadable store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WRITER = r"""
import asyncio, json, sys
sys.path.insert(0, sys.argv[3])
from bot.store.tiny import TinyStore

async def main(folder, start):
    s = TinyStore(folder)
    i = start
    while True:
        key = f"S-{i:07d}"
        rec = await s.insert("sessions", key, {"open": True, "n": i, "day": "2026-11-25"})
        print(json.dumps(["insert", key, i]), flush=True)
        if i % 3 == 0:
            await s.replace("sessions", key, {"open": False, "n": i, "day": f"2026-{1 + i % 12:02d}-15", "closed": True}, etag=rec.etag)
            print(json.dumps(["close", key, i]), flush=True)
        await s.upsert("conversations", "channel:safeguarding", {"n": i})
        print(json.dumps(["upsert", "channel:safeguarding", i]), flush=True)
        k = await s.append("audit", {"record": key, "n": i, "day": "2026-11-25"})
        print(json.dumps(["append", k, i]), flush=True)
        if i % 5 == 0:
            await s.upsert_many("consents", {f"pupil {p:03d}": {"n": i, "p": p} for p in range(300)})
            print(json.dumps(["batch", "consents", i]), flush=True)
        i += 1

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def verify(folder: Path, acked: list[list]) -> list[str]:
    from bot.store.tiny import TinyStore

    problems: list[str] = []
    s = TinyStore(folder)
    try:
        expected: dict[str, dict] = {}
        last_upsert = last_batch = -1
        appended = set()
        for op, key, n in acked:
            if op == "insert":
                expected[key] = {"open": True, "n": n}
            elif op == "close":
                expected[key] = {"open": False, "n": n, "closed": True}
            elif op == "upsert":
                last_upsert = n
            elif op == "batch":
                last_batch = n
            else:
                appended.add(key)
        for key, want in expected.items():
            rec = await s.get("sessions", key)
            if rec is None:
                problems.append(f"lost {key}")
                continue
            later = {"open": False, "n": want["n"], "closed": True}  # the close may have landed unacknowledged
            if any(rec.doc.get(k) != v for k, v in want.items()) and not (
                want["open"] and want["n"] % 3 == 0 and all(rec.doc.get(k) == v for k, v in later.items())
            ):
                problems.append(f"{key} is {rec.doc}, acknowledged {want}")
        conv = await s.get("conversations", "channel:safeguarding")
        if last_upsert >= 0 and (conv is None or conv.doc["n"] < last_upsert):
            problems.append(f"upsert {last_upsert} lost: {conv and conv.doc}")
        rows = await s.query("consents")
        batches = {r.doc["n"] for r in rows}
        if rows and (len(rows) != 300 or len(batches) != 1):
            problems.append(f"a batch is torn: {len(rows)} rows from batches {sorted(batches)[:5]}")
        elif last_batch >= 0 and (not rows or min(batches) < last_batch):
            problems.append(f"batch {last_batch} lost: found {sorted(batches)}")
        audit = {r.key for r in await s.query("audit")}
        problems += [f"audit {k} lost" for k in appended - audit]
        opened = {r.key for r in await s.query("sessions", {"open": True})}
        closed_still_hot = [k for k, w in expected.items() if not w["open"] and k in opened]
        for k, w in expected.items():
            if w["open"] and k not in opened:
                rec = await s.get("sessions", k)
                if rec is not None and rec.doc.get("open") is not False:
                    problems.append(f"{k} is open but the open-sessions query misses it")
        problems += [f"{k} closed but still open" for k in closed_still_hot]
    finally:
        await s.close()
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-delay", type=float, default=0.4)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    folder = Path(tempfile.mkdtemp(prefix="chaperone-crash-"))
    acked: list[list] = []
    failures = 0
    t0 = time.monotonic()
    for r in range(a.rounds):
        start = len([x for x in acked if x[0] == "insert"]) + r * 10_000
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(folder), str(start), str(ROOT)], stdout=subprocess.PIPE, text=True
        )
        time.sleep(rng.uniform(0.05, a.max_delay))
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate()
        for line in out.splitlines():
            try:
                acked.append(json.loads(line))
            except ValueError:
                pass  # a line cut by the kill was never a complete acknowledgement
        try:
            problems = asyncio.run(verify(folder, acked))
        except Exception as exc:
            problems = [f"store did not open: {exc}"]
        if problems:
            failures += 1
            print(f"round {r}: " + "; ".join(problems[:5]), file=sys.stderr)
    writes = len(acked)
    batches = sum(1 for x in acked if x[0] == "batch")
    print(
        f"crash test: {a.rounds} rounds, {writes} acknowledged writes ({batches} batches of 300 rows), {failures} rounds with a lost write or unreadable store ({time.monotonic() - t0:.0f} s)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
