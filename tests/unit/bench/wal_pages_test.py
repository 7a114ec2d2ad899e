#!/usr/bin/python3
"""bench/wal_pages.py on a WAL of known content: two commits, one into a table and its index, one
into the table alone; a copy of the WAL taken before the checkpoint; the pages named by b-tree."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

script = sys.argv[1]
work = tempfile.mkdtemp(prefix="wal-pages-")
try:
    db_path = os.path.join(work, "s.db")
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE t (k TEXT, v BLOB)")
    db.execute("CREATE INDEX t_by_k ON t (k)")
    db.execute("CREATE TABLE u (v BLOB)")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the schema out of the WAL: only the two commits below
    db.execute("BEGIN")
    db.execute("INSERT INTO t VALUES ('a', zeroblob(100))")
    db.execute("COMMIT")
    db.execute("INSERT INTO u VALUES (zeroblob(100))")
    copy = os.path.join(work, "copy.wal")
    shutil.copy(db_path + "-wal", copy)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    out = subprocess.run(["/usr/bin/python3", script, db_path, copy], capture_output=True, text=True)
    print(out.stdout, out.stderr)
    lines = out.stdout.splitlines()
    problems = []
    if out.returncode != 0:
        problems.append("exit %d" % out.returncode)
    if not lines or not lines[0].startswith("commits 2, pages per commit: mean "):
        problems.append("not two commits: %r" % lines[:1])
    named = dict((line.split()[1], float(line.split()[0])) for line in lines[1:])
    # the first commit wrote t's page and t_by_k's, the second u's: half a page of each per commit
    for tree, expected in (("t", 0.5), ("t_by_k", 0.5), ("u", 0.5)):
        if named.get(tree) != expected:
            problems.append("%s: %s pages per commit, not %s" % (tree, named.get(tree), expected))
    bad = subprocess.run(["/usr/bin/python3", script, db_path], capture_output=True, text=True)
    if bad.returncode != 2 or "wal_pages.py STORE WAL_COPY" not in bad.stderr:
        problems.append("no usage line without a copy: %d %r" % (bad.returncode, bad.stderr))
    if problems:
        print("FAILED: " + "; ".join(problems))
        sys.exit(1)
    print("ok: wal_pages")
finally:
    shutil.rmtree(work)
