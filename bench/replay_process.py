#!/usr/bin/python3
"""The inspector's case replay as a whole process, as an inspector types it, in one run.

Times `keten log replay --store STORE --case V --format F` (`keten` runs it in keten-inspect,
which loads only what the inspector's tools need) against the same command line run by
`keten-full` (every subcommand, every library: what `keten` was before), alternating the two on
each case; the start alone of each (`log verify` without a source: a usage error, so nothing is
read); and what `keten` adds to a command it hands to keten-full (`--help` through `keten` against
`keten-full --help`). Prints one JSON object: the median wall time of each in milliseconds, and
the ratios. docs/performance.md, "Starting the inspector's tools".

  bench/replay_process.py --store FILE [--build DIR] [--cases N] [--rounds R] [--format text|json|html]
                          [--signing-key HEX] [--first-case K]

The cases are V000000001.. as bench/fill_store names them (--cases: how many of them, spread over
the log, from case K on). Each replay appends its own log_read event to STORE, as any read by an
inspector does, so a case replayed often grows (its later events are unsigned, read but not
proven); a new run can start at another --first-case to replay cases of their filled size.
Each replay proves every event of its case against the latest signed checkpoint: --signing-key is
the checkpoints' verifier key, by default the public half of fill_store's bench-only seed (a
fill_store log states no key, so without one the events would be shown unproven, and a run would
time less than the inspector's replay). Before timing, each case is replayed once and its output
must say that its events were proven.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def timed(argv):
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return (time.perf_counter() - started) * 1000, done


def bench_verifier_key():
    """The verifier key of bench/fill_store's checkpoints: Ed25519 from the seed of 32 'b' bytes."""
    import nacl.signing
    return nacl.signing.SigningKey(b"b" * 32).verify_key.encode().hex()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    parser.add_argument("--cases", type=int, default=5)
    parser.add_argument("--case-count", type=int, default=10000, help="cases in the store (fill_store --cases)")
    parser.add_argument("--first-case", type=int, default=1,
                        help="number of the first case replayed (each replay adds a log_read event to its case:"
                             " a later run can start elsewhere to replay cases of their filled size)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--format", default="json", choices=["text", "json", "html"])
    parser.add_argument("--signing-key", default=None, help="checkpoint verifier key (default: fill_store's)")
    args = parser.parse_args()
    key = args.signing_key or bench_verifier_key()

    binaries = {name: os.path.join(args.build, name) for name in ("keten", "keten-full")}
    cases = ["V%09d" % (1 + (args.first_case - 1 + i * (args.case_count // max(args.cases, 1))) % args.case_count)
             for i in range(args.cases)]
    for case in cases:
        done = subprocess.run([binaries["keten"], "--log-level", "warn", "log", "replay", "--store", args.store,
                               "--case", case, "--format", "text", "--signing-key", key],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if done.returncode != 0 or b"case events proven: " not in done.stdout:
            sys.exit("log replay --case %s did not prove the case's events (exit %d): %s%s" % (
                case, done.returncode, done.stdout[:400].decode(errors="replace"), done.stderr.decode(errors="replace")))
    replay = {name: [] for name in binaries}
    start = {name: [] for name in binaries}
    handed = {name: [] for name in binaries}
    for _ in range(args.rounds):
        for case in cases:
            for name, binary in binaries.items():
                ms, done = timed([binary, "--log-level", "warn", "log", "replay", "--store", args.store, "--case", case,
                                  "--format", args.format, "--signing-key", key])
                if done.returncode != 0:
                    sys.exit("%s log replay --case %s: exit %d: %s" % (name, case, done.returncode,
                                                                        done.stderr.decode(errors="replace")))
                replay[name].append(ms)
        for name, binary in binaries.items():
            ms, done = timed([binary, "log", "verify"])
            if done.returncode != 2:
                sys.exit("%s log verify without a source: exit %d, expected 2" % (name, done.returncode))
            start[name].append(ms)
            ms, done = timed([binary, "--help"])
            if done.returncode != 0:
                sys.exit("%s --help: exit %d" % (name, done.returncode))
            handed[name].append(ms)

    median = {name: statistics.median(values) for name, values in replay.items()}
    started = {name: statistics.median(values) for name, values in start.items()}
    helped = {name: statistics.median(values) for name, values in handed.items()}
    print(json.dumps({
        "store": args.store,
        "proven_with": key,
        "format": args.format,
        "cases": cases,
        "rounds": args.rounds,
        "replay_ms_median": {name: round(v, 1) for name, v in median.items()},
        "replay_ms_max": {name: round(max(v), 1) for name, v in replay.items()},
        "start_ms_median": {name: round(v, 1) for name, v in started.items()},
        "help_ms_median": {name: round(v, 1) for name, v in helped.items()},
        "replay_ratio_keten_to_full": round(median["keten"] / median["keten-full"], 3),
        "start_ratio_keten_to_full": round(started["keten"] / started["keten-full"], 3),
        "help_ratio_keten_to_full": round(helped["keten"] / helped["keten-full"], 3),
    }, indent=2))


if __name__ == "__main__":
    main()
