"""Benchmark results: the headline numbers, the Markdown report, the one-line
summary, and comparing two runs by ratio.

    python -m bench.report bench/results/latest.json            # Markdown
    python -m bench.report old.json new.json                     # compare
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _get(data: Any, *path: Any) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _ratio(a: Any, b: Any) -> float | None:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return None
    return round(a / b, 2)


def headline(data: dict) -> dict:
    r = data.get("results", {})
    floor = _get(r, "step", "floor_interleaved", "floor_ms", "p50") or _get(r, "floor", "floor_ms", "p50")
    h: dict[str, Any] = {
        "step_overhead_ms_p50_grpc": _get(r, "step", "overhead_ms_grpc", "p50"),
        "step_overhead_ms_p50_rest": _get(r, "step", "overhead_ms_rest", "p50"),
        "floor_ms_p50": floor,
    }
    h["step_overhead_ratio_to_floor_grpc"] = _ratio(h["step_overhead_ms_p50_grpc"], floor)
    h["step_overhead_ratio_to_floor_rest"] = _ratio(h["step_overhead_ms_p50_rest"], floor)
    h["step_e2e_ms_p50_grpc"] = _get(r, "step", "e2e_ms_grpc", "p50")
    h["step_e2e_ms_p50_rest"] = _get(r, "step", "e2e_ms_rest", "p50")
    h["model_ms_p50"] = _get(r, "step", "model_ms", "p50")
    h["openai_sdk_client_cost_ms_p50"] = _get(r, "step", "openai_sdk_client_cost_ms_p50")
    h["round_trips_per_step"] = _get(r, "round_trips", "round_trips_per_step")
    for n in ("1", "10", "100"):
        h[f"messages_per_s_{n}_agents"] = _get(r, "throughput", "levels", n, "messages_per_s")
    h["server_cpu_ms_per_message_10_agents"] = _get(r, "throughput", "levels", "10", "cpu_ms_per_message", "server")
    h["stream_added_ttft_ms_grpc"] = _get(r, "streaming", "added_grpc", "ttft_ms_p50")
    h["stream_added_ttft_ms_rest"] = _get(r, "streaming", "added_rest", "ttft_ms_p50")
    h["stream_added_per_token_ms_grpc"] = _get(r, "streaming", "added_grpc", "per_token_ms")
    h["stream_added_per_token_ms_rest"] = _get(r, "streaming", "added_rest", "per_token_ms")
    h["growth_messages_p50_ratio"] = _get(r, "growth", "messages_p50_ratio_last_to_first")
    h["growth_agents_p50_ratio"] = _get(r, "growth", "agents_p50_ratio_last_to_first")
    h["overhead_ms_per_in_context_message"] = _get(r, "growth", "context_overhead_ms_per_message")
    h["mature_agent_overhead_ms_p50"] = _get(r, "growth", "mature_agent", "overhead_ms_p50")
    h["rss_idle_mb"] = _get(r, "memory", "rss_idle_mb")
    h["rss_under_load_peak_mb"] = _get(r, "memory", "rss_under_load_peak_mb")
    h["rss_growth_mb_per_1000_agents"] = _get(r, "memory", "rss_growth_mb_per_1000_agents")
    for size, res in (_get(r, "archival", "sizes") or {}).items():
        h[f"archival_recall_at_10_{size}"] = res.get("recall_at_k")
        h[f"archival_search_ms_p50_{size}"] = _get(res, "vector_indexed", "p50_ms")
    return h


def one_line(data: dict) -> str:
    h = data.get("headline") or headline(data)
    mode = _get(data, "meta", "mode")

    def f(v: Any, unit: str = "") -> str:
        return "n/a" if v is None else f"{v:g}{unit}"

    return (f"bench {mode}: step overhead p50 gRPC {f(h['step_overhead_ms_p50_grpc'], ' ms')} "
            f"({f(h['step_overhead_ratio_to_floor_grpc'], 'x')} floor), REST {f(h['step_overhead_ms_p50_rest'], ' ms')} "
            f"({f(h['step_overhead_ratio_to_floor_rest'], 'x')} floor); floor {f(h['floor_ms_p50'], ' ms')}; "
            f"{f(h['round_trips_per_step'])} DB round trips/step; "
            f"{f(h['messages_per_s_1_agents'])}/{f(h['messages_per_s_10_agents'])}/"
            f"{f(h['messages_per_s_100_agents'])} msg/s at 1/10/100 agents; "
            f"growth x{f(h['growth_messages_p50_ratio'])} (messages) x{f(h['growth_agents_p50_ratio'])} (agents)")


def _ms(s: dict | None, key: str = "p50") -> str:
    v = _get(s, key)
    return "–" if v is None else f"{v:.2f}"


def _row(*cells: Any) -> str:
    return "| " + " | ".join("–" if c is None else str(c) for c in cells) + " |"


def markdown(data: dict) -> str:
    meta, r = data.get("meta", {}), data.get("results", {})
    h = data.get("headline") or headline(data)
    m = meta.get("machine", {})
    floor = h.get("floor_ms_p50")
    out = [
        f"# Mnemo benchmark ({meta.get('mode')} run)",
        "",
        f"{meta.get('started_at')} · commit {meta.get('commit')} · {m.get('nproc')} CPU "
        f"({m.get('cpu')}) · {m.get('memory_gb')} GB RAM · Python {m.get('python')} · "
        f"{meta.get('duration_s')} s",
        "",
        "Fake model answering instantly; real server, embedded PostgreSQL and Envoy on 127.0.0.1. "
        "Compare runs by the ratios, not the absolute times. See docs/benchmarks.md for how to read this.",
        "",
    ]
    noise = r.get("noise") or {}
    if noise:
        out += [f"Other load on the machine during the run: {noise.get('foreign_cpu_cores_avg')} cores on average "
                f"(load average {meta.get('loadavg_start')} at start, {noise.get('loadavg_end')} at the end).", ""]
    if meta.get("errors"):
        out += [f"**Failed measurements:** {', '.join(meta['errors'])}", ""]
    db = r.get("database") or {}
    out += [
        "## Headline",
        "",
        "| measure | p50 | ratio to floor |",
        "| --- | ---: | ---: |",
        _row("floor: no-op gRPC call + one step-sized PostgreSQL transaction", f"{floor} ms", "1"),
        _row("one-step message overhead, gRPC", f"{h.get('step_overhead_ms_p50_grpc')} ms",
             h.get("step_overhead_ratio_to_floor_grpc")),
        _row("one-step message overhead, REST via Envoy", f"{h.get('step_overhead_ms_p50_rest')} ms",
             h.get("step_overhead_ratio_to_floor_rest")),
        "",
        f"Database during the measurements: {db.get('agents')} agents, {db.get('messages')} messages.",
        "",
    ]
    step = r.get("step") or {}
    if "e2e_ms_grpc" in step:
        out += [
            "## 1. One-step message (ms)",
            "",
            f"Prompt: {step.get('prompt_messages')} messages, {step.get('prompt_tools')} tools, "
            f"{step.get('prompt_bytes')} bytes; {step.get('context_messages')} messages in context.",
            "",
            "| | p50 | p95 | p99 |",
            "| --- | ---: | ---: | ---: |",
        ]
        for label, key in (("end to end, gRPC", "e2e_ms_grpc"), ("end to end, REST", "e2e_ms_rest"),
                           ("model (plain HTTP to the fake)", "model_ms"),
                           ("model via the openai SDK", "model_via_openai_sdk_ms"),
                           ("fake, in-process", "fake_inprocess_ms"),
                           ("**overhead, gRPC**", "overhead_ms_grpc"), ("**overhead, REST**", "overhead_ms_rest")):
            s = step.get(key)
            out.append(_row(label, _ms(s), _ms(s, "p95"), _ms(s, "p99")))
        out.append("")
    floors = [(label, f) for label, f in (("interleaved with the steps (headline)", step.get("floor_interleaved")),
                                          ("in a row", r.get("floor"))) if f and "floor_ms" in f]
    if floors:
        out += ["## 2. Floor (ms)", "", "| | p50 | p95 | p99 |", "| --- | ---: | ---: | ---: |"]
        for label, fl in floors:
            for part, key in (("floor", "floor_ms"), ("no-op gRPC call", "grpc_noop_ms"),
                              ("step-sized PostgreSQL transaction", "pg_step_tx_ms")):
                s = fl.get(key)
                out.append(_row(f"{part}, {label}", _ms(s), _ms(s, "p95"), _ms(s, "p99")))
        out.append("")
    st = r.get("streaming") or {}
    if "paced" in st:
        p = st["paced"]
        out += [
            "## 3. Token streaming",
            "",
            f"Paced: {p['tokens']} deltas {p['pace_ms']:g} ms apart. Burst: {st['burst']['tokens']} deltas at once.",
            "",
            "| | TTFT p50 (paced) | last token p50 (paced) | per-token cost (burst slope) | TTFT p50 (burst) |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name in ("model", "model_via_openai_sdk", "grpc", "rest"):
            if name not in p:
                continue
            out.append(_row(name.replace("_", " "), _ms(p[name]["ttft_ms"]), _ms(p[name]["last_ms"]),
                            f"{st['per_token_cost_ms'][name]:.4f}", _ms(st["burst"]["large"][name]["ttft_ms"])))
        for name in ("grpc", "rest"):
            a = st[f"added_{name}"]
            out.append(_row(f"**added by Mnemo, {name}**", a["ttft_ms_p50"], a["last_token_ms_p50"],
                            a["per_token_ms"], a["burst_ttft_ms_p50"]))
        out.append("")
    tp = r.get("throughput") or {}
    if "levels" in tp:
        out += [
            "## 4. Throughput (gRPC, closed loop)",
            "",
            "| agents | msg/s | latency p50 | p95 | p99 | server CPU ms/msg | PostgreSQL CPU ms/msg "
            "| server cores | machine busy | other load (cores) | new DB sessions |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for n, lvl in tp["levels"].items():
            c = lvl["cpu_ms_per_message"]
            out.append(_row(n, lvl["messages_per_s"], _ms(lvl["latency_ms"]), _ms(lvl["latency_ms"], "p95"),
                            _ms(lvl["latency_ms"], "p99"), c["server"], c["postgres"], lvl["server_cpu_cores"],
                            lvl["machine_cpu_busy"], lvl.get("foreign_cpu_cores"), lvl.get("db_sessions_opened")))
        out.append("")
    g = r.get("growth") or {}
    if "messages" in g:
        out += ["## 5. Growth (one-step latency over gRPC, ms)", "", "| database | p50 | p95 | p99 |",
                "| --- | ---: | ---: | ---: |"]
        for v in g["messages"].values():
            out.append(_row(f"{v['stored']} messages stored for the agent", _ms(v["latency_ms"]),
                            _ms(v["latency_ms"], "p95"), _ms(v["latency_ms"], "p99")))
        for v in g.get("agents", {}).values():
            out.append(_row(f"{v['agents']} agent{'s' if v['agents'] != 1 else ''} in the database", _ms(v["latency_ms"]),
                            _ms(v["latency_ms"], "p95"), _ms(v["latency_ms"], "p99")))
        out += ["", f"p50 ratio, largest to smallest: messages {g.get('messages_p50_ratio_last_to_first')}, "
                    f"agents {g.get('agents_p50_ratio_last_to_first')} (1.0 = flat).", ""]
        if g.get("context"):
            out += ["Messages in context (the prompt grows with them, so this is not flat):", "",
                    "| in context | prompt bytes | e2e p50 | model p50 | overhead p50 |",
                    "| --- | ---: | ---: | ---: | ---: |"]
            for v in g["context"].values():
                out.append(_row(v["in_context"], v["prompt_bytes"], _ms(v["latency_ms"]), _ms(v["model_ms"]),
                                v["overhead_ms_p50"]))
            m = g.get("mature_agent")
            if m:
                out.append(_row(m["in_context"], m["prompt_bytes"], _ms(m["latency_ms"]), _ms(m["model_ms"]),
                                m["overhead_ms_p50"]))
            out += ["", f"Overhead per in-context (short) message: {g.get('context_overhead_ms_per_message')} ms.", ""]
    a = r.get("archival") or {}
    if a.get("sizes"):
        out += ["## 6. Archival search (dim 384, one agent's passages, top 10)", "",
                "| passages | recall@10 vs exact | indexed p50 | p95 | exact p50 | full-text p50 | index build s |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for size, v in a["sizes"].items():
            out.append(_row(size, v.get("recall_at_k"), _get(v, "vector_indexed", "p50_ms"),
                            _get(v, "vector_indexed", "p95_ms"), _get(v, "vector_exact", "p50_ms"),
                            _get(v, "full_text", "p50_ms"), v.get("index_build_s")))
        if a.get("note"):
            out += ["", a["note"]]
        out.append("")
    elif a:
        out += ["## 6. Archival search", "", str(a.get("skipped") or a.get("error")), ""]
    mem = r.get("memory") or {}
    if "rss_idle_mb" in mem:
        out += ["## 7. Memory (server process RSS)", "", "| | MB |", "| --- | ---: |",
                _row("at startup", r.get("rss_startup_mb")), _row("idle, after the measurements above",
                                                                  mem["rss_idle_mb"]),
                _row(f"after one message to each of {mem['agents_messaged']} more agents", mem["rss_after_agents_mb"]),
                _row("growth per 1 000 agents", mem["rss_growth_mb_per_1000_agents"]),
                _row("peak under load (throughput levels)", mem.get("rss_under_load_peak_mb")), ""]
    rt = r.get("round_trips") or {}
    if "round_trips_per_step" in rt:
        out += ["## 8. Database round trips per one-step message", "",
                f"{rt['round_trips_per_step']} round trips per message: {rt['executes_per_step']} prepared-statement "
                f"executions, {rt['simple_statements_per_step']} simple queries, {rt['prepares_per_step']} prepares.",
                ""]
        by = rt.get("by_context") or {"": rt}
        keys = list(by)
        heads = " | ".join(f"ms inside PostgreSQL, {by[k].get('in_context', '')} in context" for k in keys)
        out += [f"| statement | per step | {heads} |", "| --- | ---: |" + " ---: |" * len(keys)]
        names = list(by[keys[0]].get("statements_per_step", {}))[:12]
        for sql in names:
            cells = [(_get(by[k], "statements_per_step", sql) or {}).get("ms") for k in keys]
            out.append(_row("`" + sql.replace("|", "\\|")[:100] + "`",
                            by[keys[0]]["statements_per_step"][sql]["count"], *cells))
        out.append(_row("**total**", rt["round_trips_per_step"], *(by[k]["db_time_ms_per_step"] for k in keys)))
        out.append("")
    profiles = (r.get("profile") or {}).get("by_context") or {}
    if profiles:
        keys = list(profiles)
        heads = " | ".join(f"{profiles[k]['in_context']} in context" for k in keys)
        sep = " | ".join("---:" for _ in keys)
        out += ["## Where the server's time goes (py-spy, sequential one-step messages)", "",
                f"| | {heads} |", f"| --- | {sep} |",
                _row("ms per message while sampling", *(profiles[k]["ms_per_step_while_sampling"] for k in keys)),
                _row("ms the event loop holds the GIL, per message", *(profiles[k]["gil_ms_per_step"] for k in keys)),
                "", f"| event loop wall time | {heads} |", f"| --- | {sep} |"]

        def rows(section: str, field: str) -> list[str]:
            names: list[str] = []
            for k in keys:
                for name in (_get(profiles[k], *section.split("."), field) or {}):
                    if name not in names:
                        names.append(name)
            return [_row(name, *(f"{(_get(profiles[k], *section.split('.'), field) or {}).get(name, 0):.1%}"
                                 for k in keys)) for name in names]

        out += rows("wall", "shares")
        out += ["", f"| code running (GIL held), by layer | {heads} |", f"| --- | {sep} |", *rows("gil", "layers")]
        out += ["", f"| phase (inclusive, GIL held) | {heads} |", f"| --- | {sep} |",
                *rows("gil", "phases_inclusive"), ""]
    return "\n".join(out)


def compare(old: dict, new: dict) -> str:
    """Headline numbers side by side, with new/old ratios."""
    a, b = old.get("headline") or headline(old), new.get("headline") or headline(new)
    lines = [f"| measure | {_get(old, 'meta', 'commit')} | {_get(new, 'meta', 'commit')} | new/old |",
             "| --- | ---: | ---: | ---: |"]
    for key in b:
        lines.append(_row(key, a.get(key), b.get(key), _ratio(b.get(key), a.get(key))))
    return "\n".join(lines)


if __name__ == "__main__":
    files = [json.loads(Path(p).read_text()) for p in sys.argv[1:]]
    if len(files) == 1:
        print(markdown(files[0]))
    elif len(files) == 2:
        print(compare(*files))
    else:
        sys.exit("usage: python -m bench.report RESULT.json [NEW.json]")
