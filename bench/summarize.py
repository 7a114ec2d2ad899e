#!/usr/bin/python3
"""Summarizes bench/run.sh's results.jsonl: medians over rounds, ratios Keten/RabbitMQ and
Keten/raw ZeroMQ, the targets of issue #8, and the data files bench/plots.gp draws.
Usage: summarize.py results.jsonl OUT_DIR [--machine TEXT] [--rabbitmq VERSION]"""
import argparse
import json
import statistics
from collections import defaultdict

SYSTEMS = ["keten", "keten-pg", "rabbitmq", "raw-zmq", "raw-zmq-curve"]


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float) and v < 10:
        return f"{v:.2f}{unit}"
    return f"{v:,.0f}{unit}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("out")
    ap.add_argument("--machine", default="?")
    ap.add_argument("--rabbitmq", default="?")
    ap.add_argument("--cores", type=int, default=2)
    a = ap.parse_args()
    rows = load(a.results)
    by = defaultdict(list)  # (label, system) -> runs
    for r in rows:
        run = r["run"]
        by[(r["label"], run.get("system"))].append(run)

    def figure(label, system, key):
        runs = [x for x in by.get((label, system), []) if not x.get("error")]
        if key == "throughput":
            return med([x.get("throughput") for x in runs])
        if key.startswith("broker."):
            return med([(x.get("broker") or {}).get(key[7:]) for x in runs])
        if "." not in key:
            return med([x.get(key) for x in runs])
        outer, inner = key.split(".")
        return med([x.get(outer, {}).get(inner) for x in runs])

    errors = [f'{r["label"]} {r["run"].get("system")}: {r["run"]["error"]}' for r in rows if r["run"].get("error")]
    fsync = next((r["run"].get("fsync_us", {}) for r in rows if r["label"] == "fsync"), {})
    rounds = max([r["round"] for r in rows if r["label"] == "main"] or [0])
    main_run = next((r["run"] for r in rows if r["label"] == "main"), {})

    lines = []
    lines.append(f"Machine: {a.machine}. RabbitMQ {a.rabbitmq}.")
    lines.append(f"Main comparison: {main_run.get('messages')} messages of {main_run.get('payload_bytes')} bytes, "
                 f"window {main_run.get('window')}, 1 producer, 1 consumer, median of {rounds} alternating rounds.")
    lines.append("")
    lines.append("| system | throughput msg/s | p50 µs | p99 µs | p99.9 µs | receipt/confirm p99 µs | broker CPU µs/msg | broker peak RSS MiB |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for s in SYSTEMS:
        if (("main", s)) not in by:
            continue
        rss = figure("main", s, "broker.peak_rss_bytes")
        lines.append(f"| {s} | {fmt(figure('main', s, 'throughput'))} | {fmt(figure('main', s, 'latency_us.p50'))} | "
                     f"{fmt(figure('main', s, 'latency_us.p99'))} | {fmt(figure('main', s, 'latency_us.p999'))} | "
                     f"{fmt(figure('main', s, 'receipt_us.p99'))} | {fmt(figure('main', s, 'broker.cpu_us_per_message'))} | "
                     f"{fmt(rss / 2**20 if rss else None)} |")
    kt, rt, zt = (figure("main", s, "throughput") for s in ("keten", "rabbitmq", "raw-zmq"))
    kp, rp, zp = (figure("main", s, "latency_us.p99") for s in ("keten", "rabbitmq", "raw-zmq"))
    lines.append("")
    lines.append(f"Ratios: throughput Keten/RabbitMQ {fmt(ratio(kt, rt))}, Keten/raw ZeroMQ {fmt(ratio(kt, zt))}; "
                 f"p99 Keten/RabbitMQ {fmt(ratio(kp, rp))}, Keten/raw ZeroMQ {fmt(ratio(kp, zp))}.")
    kpg = figure("main", "keten-pg", "throughput")
    if kpg is not None:
        lines.append(f"Keten on PostgreSQL (keten-pg: the store in a local PostgreSQL 15 with fsync and synchronous_commit on, "
                     f"one broker, lease and fencing as in production): {fmt(kpg)} msg/s = {fmt(ratio(kpg, kt))}× Keten on SQLite, "
                     f"{fmt(ratio(kpg, rt))}× RabbitMQ; p99 {fmt(ratio(figure('main', 'keten-pg', 'latency_us.p99'), kp))}× SQLite's.")
    lines.append("Broker CPU and RSS: the Keten broker process (/proc); for raw ZeroMQ both ends and their I/O threads (one process, getrusage); not measured for RabbitMQ.")
    lines.append(f"fsync of 1 KiB on the bench store's filesystem: p50 {fsync.get('p50', 'n/a')} µs, p99 {fsync.get('p99', 'n/a')} µs.")
    lines.append("")

    # Targets (issue #8)
    lines.append("| target (issue #8) | measured | status |")
    lines.append("|---|---|---|")
    if kt is not None and rt:
        ok = kt >= 4 * rt and kt >= 39000
        lines.append(f"| 1. durable throughput ≥ 4× RabbitMQ with confirms and ≥ ~40k msg/s | Keten {fmt(kt)} msg/s = {fmt(ratio(kt, rt))}× RabbitMQ ({fmt(rt)}); {fmt(ratio(kt, 39000))}× 39k | {'met' if ok else 'not met'} |")
    k5 = figure("rate=5000", "keten", "latency_us.p99")
    z64 = figure("main", "raw-zmq", "latency_us.p99")
    if k5 is not None and z64 is not None and fsync.get("p99") is not None:
        limit = 3 * z64 + fsync["p99"]
        lines.append(f"| 2. p99 at 5k msg/s offered < 3× raw ZeroMQ p99 (W=64) + one fsync | Keten p99 {fmt(k5)} µs vs limit {fmt(limit)} µs (3×{fmt(z64)} + {fsync['p99']}) = {fmt(ratio(k5, limit))}× the limit | {'met' if k5 < limit else 'not met'} |")
    bl = [r["run"] for r in rows if r["label"] == "backlog"]
    if bl:
        b = bl[0]
        rss = (b.get("broker") or {}).get("peak_rss_bytes")
        lines.append(f"| 3a. broker RSS < 200 MiB with a backlog of 1M undelivered | backlog of {b.get('accepted')} messages: peak RSS {fmt(rss / 2**20 if rss else None)} MiB | {'met for this backlog' if rss and rss < 200 * 2**20 else 'not met'} |")
    else:
        lines.append("| 3a. broker RSS < 200 MiB with a backlog of 1M undelivered | not run here (bench/run.sh --backlog N) | not measured |")
    k_empty = figure("store=empty", "keten", "throughput")
    k_large = figure("store=large", "keten", "throughput")
    held = next((r["run"].get("messages_held") for r in rows if r["label"] == "large-store"), None)
    if k_empty and k_large and held is not None:
        ok = k_large >= 0.8 * k_empty
        lines.append(f"| 3b. throughput within 20 % with 10M stored messages | Keten {fmt(k_large)} msg/s on a store holding {fmt(held)} messages vs {fmt(k_empty)} on a fresh one (medians of alternating rounds) = {fmt(ratio(k_large, k_empty))}× | {('met' if held >= 10_000_000 else 'met for this store size') if ok else 'not met'} |")
    else:
        lines.append("| 3b. throughput within 20 % with 10M stored messages | not run here (bench/run.sh --large-store FILE) | not measured |")
    lines.append("| 3c. case replay from a 10M-row log < 100 ms | not run | not measured |")

    # The cost floor: CPU per message of work Keten cannot skip, each part measured alone.
    transport = figure("main", "raw-zmq-curve", "broker.cpu_us_per_message")
    intake = figure("floor", "intake-cost", "cpu_us_per_message")
    store = figure("floor", "store-cost", "cpu_us_per_message")
    if None not in (transport, intake, store):
        total = 2 * transport + intake + store
        ceiling = a.cores * 1e6 / total
        need = max(4 * rt, 39000) if rt else 39000
        lines.append("")
        lines.append(f"Cost floor, CPU per message of work Keten cannot skip, each part measured alone in this run "
                     f"(medians): transport 2 × {transport:.1f} µs (one raw ZeroMQ+Curve round trip of a "
                     f"{main_run.get('payload_bytes')}-byte frame, both ends and their I/O threads; a Keten message "
                     f"makes two: submit/receipt and deliver/ack) + intake {intake:.1f} µs (decoding, digest, "
                     f"validation with formats, redaction preparation; bench/intake_cost) + store {store:.1f} µs "
                     f"(the message, its delivery and six log rows through SqliteStore, 30 per transaction, no fsync; "
                     f"bench/fill_store) = {total:.0f} µs. On {a.cores} cores that is at most {fmt(ceiling)} msg/s "
                     f"if they did nothing else (no bench clients, no scheduling, no fsync): "
                     f"{fmt(ratio(ceiling, need))}× the {fmt(need)} msg/s target 1 asks for.")
    # Targets of the batched-protocol issue (#19), from the same runs.
    kcpu = figure("main", "keten", "broker.cpu_us_per_message")
    r5 = figure("rate=5000", "rabbitmq", "latency_us.p99")
    fair = [x for x in by.get(("fairness", "keten-fairness"), []) if not x.get("error")]
    lines.append("")
    lines.append("| target (issue #19) | measured | status |")
    lines.append("|---|---|---|")
    if kt is not None and rt:
        lines.append(f"| durable throughput ≥ 2× RabbitMQ (W=64, 1 KiB, confirms and acks) | Keten {fmt(kt)} msg/s = "
                     f"{fmt(ratio(kt, rt))}× RabbitMQ ({fmt(rt)}) | {'met' if kt >= 2 * rt else 'not met'} |")
    if kcpu is not None:
        lines.append(f"| broker CPU ≤ 60 µs per message | {fmt(kcpu)} µs | {'met' if kcpu <= 60 else 'not met'} |")
    if k5 is not None and r5 is not None:
        lines.append(f"| p99 at 5k msg/s offered ≤ RabbitMQ's at the same rate | Keten {fmt(k5)} µs, RabbitMQ {fmt(r5)} µs "
                     f"= {fmt(ratio(k5, r5))}× (one run per system) | {'met' if k5 <= r5 else 'not met'} |")
    if intake is not None:
        lines.append(f"| intake ≤ 25 µs per 1 KiB departure.scheduled (bench/intake_cost) | {intake:.1f} µs (median; rounds "
                     f"{', '.join(f'{x:.1f}' for x in sorted(x.get('cpu_us_per_message') for x in by.get(('floor', 'intake-cost'), [])))}) "
                     f"| {'met' if intake <= 25 else 'not met'} |")
    if fair:
        f = fair[0]
        lines.append(f"| a quiet partner's receipt p99 < 50 ms while another floods | {f['quiet_flood_p99_us'] / 1000:.1f} ms "
                     f"({f['flood_connections']} flooding connections) | {'met' if f['quiet_flood_p99_us'] < 50000 else 'not met'} |")
    # What stands between the result and 4× RabbitMQ: the CPU budget per message that rate leaves on
    # these cores against the parts measured alone in this run.
    if None not in (transport, intake, store, kcpu) and rt:
        total = 2 * transport + intake + store
        lines.append("")
        lines.append(f"What stands between the result and 4× RabbitMQ ({fmt(4 * rt)} msg/s), CPU µs per message on "
                     f"{a.cores} cores (every process of the machine shares the budget: broker, both clients, their I/O threads):")
        lines.append("")
        lines.append("| figure | µs per message |")
        lines.append("|---|---|")
        lines.append(f"| budget at 4× RabbitMQ ({fmt(4 * rt)} msg/s) | {a.cores * 1e6 / (4 * rt):.1f} |")
        lines.append(f"| budget at 2× RabbitMQ ({fmt(2 * rt)} msg/s) | {a.cores * 1e6 / (2 * rt):.1f} |")
        lines.append(f"| budget at Keten's own rate ({fmt(kt)} msg/s) | {a.cores * 1e6 / kt:.1f} |")
        lines.append(f"| transport: two CurveZMQ round trips, both ends | {2 * transport:.1f} |")
        lines.append(f"| intake: decode, digest, validation, redaction preparation | {intake:.1f} |")
        lines.append(f"| store: the message, its delivery, six events, no fsync | {store:.1f} |")
        lines.append(f"| sum of the parts measured alone | {total:.1f} |")
        lines.append(f"| the broker process as measured (its end of the transport, intake, store, fsync, the loop) | {kcpu:.1f} |")
        lines.append(f"| the broker beyond its parts (broker − intake − store − one end of each round trip) | "
                     f"{kcpu - intake - store - transport:.1f} |")
    # The HTTPS API beside ZeroMQ: both measured on one broker in the same run (bench/https_bench.py).
    https = [x for x in by.get(("https", "https"), []) if not x.get("error")]
    if https:
        h = https[0]
        lines.append("")
        lines.append(f"The HTTPS API beside ZeroMQ, one broker per round ({h.get('messages')} messages of "
                     f"{h.get('payload_bytes')} bytes, {h.get('window')} keep-alive connections, Python's standard library "
                     f"as the HTTPS client; median of {len(https)} rounds; ratios per round, then their median):")
        lines.append("")
        lines.append("| figure | msg/s | HTTPS / ZeroMQ |")
        lines.append("|---|---|---|")
        lines.append(f"| ZeroMQ, keten bench (submit and deliver together) | {fmt(figure('https', 'https', 'zeromq_msg_per_s'))} | 1 |")
        for key, what in (("https_submit", "HTTPS submit, one message per POST"),
                          ("https_submit_batch", f"HTTPS submit, batches of {h.get('https_submit_batch')} per POST"),
                          ("https_deliver", "HTTPS deliver: long poll max=100, one ack request each")):
            if h.get(key + "_msg_per_s") is None:
                continue
            lines.append(f"| {what} | {fmt(figure('https', 'https', key + '_msg_per_s'))} | "
                         f"{fmt(figure('https', 'https', key + '_ratio_to_zeromq'))} |")
    # A quiet partner's receipts while another floods (bench/fairness: medians over its own rounds).
    fair = [x for x in by.get(("fairness", "keten-fairness"), []) if not x.get("error")]
    if fair:
        f = fair[0]
        lines.append("")
        lines.append(f"Fairness: the quiet partner's receipt p99 was {f['quiet_alone_p99_us'] / 1000:.1f} ms alone and "
                     f"{f['quiet_flood_p99_us'] / 1000:.1f} ms while another partner flooded over "
                     f"{f['flood_connections']} connections ({fmt(f['flood_msg_per_s'])} msg/s accepted; medians of "
                     f"{f['rounds']} alternating rounds; the issue's bound is 50 ms).")
    if errors:
        lines.append("")
        lines.append("Runs with errors (left out of the medians):")
        lines += [f"- {e}" for e in errors]

    # Sweeps as gnuplot data: one row per x, one column per system.
    def sweep(prefix, key, filename, header):
        xs = sorted({int(l.split("=")[1]) for (l, _) in by if l.startswith(prefix + "=")})
        with open(f"{a.out}/{filename}", "w") as f:
            f.write(f"# {header}: {' '.join(SYSTEMS[:3])}\n")
            for x in xs:
                vals = [figure(f"{prefix}={x}", s, key) for s in SYSTEMS[:3]]
                f.write(f"{x} " + " ".join("NaN" if v is None else f"{v:.1f}" for v in vals) + "\n")
        return xs

    ws = sweep("window", "throughput", "window.dat", "window, throughput msg/s")
    rs = sweep("rate", "latency_us.p99", "rate.dat", "offered msg/s, p99 end-to-end us")
    if ws:
        lines.append("")
        lines.append("Throughput (msg/s) vs window: " + "; ".join(
            f"W={w}: " + ", ".join(f"{s} {fmt(figure(f'window={w}', s, 'throughput'))}" for s in SYSTEMS[:3]) for w in ws) + ".")
    if rs:
        lines.append("")
        lines.append("p99 end to end (µs) vs offered rate: " + "; ".join(
            f"{r}/s: " + ", ".join(f"{s} {fmt(figure(f'rate={r}', s, 'latency_us.p99'))} (achieved {fmt(figure(f'rate={r}', s, 'throughput'))}/s)" for s in SYSTEMS[:3]) for r in rs) + ".")
    text = "\n".join(lines) + "\n"
    with open(f"{a.out}/summary.md", "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
