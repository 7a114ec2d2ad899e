"""The handover log of a running broker's store, as rows, for tests written in Python.

The log is one Merkle tree of typed events stored in blocks, so a test does not query a table: it
takes a consistent copy of the store with SQLite's online backup (the broker keeps running) and
has `keten log export --chain` write the copy's log as the hash-chain bundle, whose lines are the events in the form
docs/handover-log-format.md gives (event, case_ref, recipient, detail as a JSON text, ...). The
export records its read in the copy, never in the broker's store, so polling leaves no trace there.
"""
import json
import os
import sqlite3
import subprocess
import tempfile


def log_rows(keten, store):
    """Every event of the store's handover log as a dict, in order."""
    with tempfile.TemporaryDirectory(prefix="keten-log-rows-") as tmp:
        copy = os.path.join(tmp, "copy.db")
        source = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        bundle = os.path.join(tmp, "log.jsonl")
        p = subprocess.run([keten, "--log-level", "error", "log", "export", "--store", copy, "--chain", "--out", bundle],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("keten log export failed (%d): %s" % (p.returncode, p.stderr.strip()))
        rows = []
        with open(bundle, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                if "event" in row and "seq" in row:
                    rows.append(row)
        return rows
