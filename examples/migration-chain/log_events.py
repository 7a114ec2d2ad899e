#!/usr/bin/python3
"""Prints handover-log events of a broker's store for the demo, while the broker runs or after.

The log is one Merkle tree of typed events stored in blocks, not a table to query: this takes a
consistent copy of the store with SQLite's online backup and has `keten log export --chain` write
the copy's log as the hash-chain bundle (docs/handover-log-format.md, section 6), whose lines are
the events with their columns and detail. The export records its read in the copy only.

  log_events.py KETEN STORE lines  EVENT[,EVENT] [RECIPIENT]   one line per event: event recipient detail
  log_events.py KETEN STORE counts                            events per kind, in order of first use
  log_events.py KETEN STORE norms  N                          the first N norm violations in words
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile


def events(keten, store):
    with tempfile.TemporaryDirectory(prefix="keten-demo-log-") as tmp:
        copy = os.path.join(tmp, "copy.db")
        source = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
        target = sqlite3.connect(copy)
        source.backup(target)
        target.close()
        source.close()
        bundle = os.path.join(tmp, "log.jsonl")
        subprocess.run([keten, "--log-level", "error", "log", "export", "--store", copy, "--chain", "--out", bundle],
                       check=True, capture_output=True)
        with open(bundle, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
    return [r for r in rows if "event" in r and "seq" in r]


def main(argv):
    keten, store, what = argv[1], argv[2], argv[3]
    rows = events(keten, store)
    if what == "lines":
        kinds = argv[4].split(",")
        recipient = argv[5] if len(argv) > 5 else None
        for r in rows:
            if r["event"] in kinds and (recipient is None or r["recipient"] == recipient):
                print("   %s %s %s" % (r["event"], r["recipient"], r["detail"]))
    elif what == "counts":
        order, counts = [], {}
        for r in rows:
            if r["event"] not in counts:
                order.append(r["event"])
                counts[r["event"]] = 0
            counts[r["event"]] += 1
        print(len(rows))
        for kind in order:
            print("   %-16s %d" % (kind, counts[kind]))
    elif what == "norms":
        shown = 0
        for r in rows:
            if r["event"] != "norm_violated" or shown >= int(argv[4]):
                continue
            d = json.loads(r["detail"])
            print("   %s %s (%s): %s" % (r["contract"], d.get("norm", ""), d.get("state", ""), d.get("explanation", "")))
            shown += 1
    else:
        sys.exit("unknown request " + what)


if __name__ == "__main__":
    main(sys.argv)
