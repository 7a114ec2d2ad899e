#!/usr/bin/python3
"""Which tables and indexes a broker's commits write, in pages, from copies of its WAL.

  bench/wal_pages.py STORE WAL_COPY [WAL_COPY ...]

Each WAL frame is one 4 KiB page a commit wrote (a frame whose header has a non-zero database size
ends a commit); this reads the frames of each copy up to the first frame of an older generation
(the salts in the WAL header) and names each page's b-tree through SQLite's dbstat table on STORE,
the database the copies came from (after the run: pages are not moved). Prints the commits seen,
the pages per commit (mean, p50, p90, max) and per b-tree. Copies taken while the broker runs:

  build/keten bench --messages 25000 --rate 5000 --keep &
  for i in $(seq 200); do cp /tmp/keten-bench-*/store/keten.db-wal /tmp/wal.$i 2>/dev/null; sleep 0.025; done
  bench/wal_pages.py /tmp/keten-bench-*/store/keten.db $(ls /tmp/wal.* | awk 'NR % 6 == 0')

Copies 25 ms apart overlap; taking every sixth keeps a commit from being counted twice in most
cases (each copy's commits are counted, so an overlap weights, not skews, the means). docs/performance.md,
"Round 11".
"""
import collections
import sqlite3
import struct
import sys


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    db = sqlite3.connect("file:%s?mode=ro" % argv[1], uri=True)
    try:
        owner = dict((page, name) for name, page in db.execute("SELECT name, pageno FROM dbstat"))
    except sqlite3.OperationalError as e:
        print("wal_pages: %s: dbstat: %s" % (argv[1], e), file=sys.stderr)
        return 1
    per_tree = collections.Counter()
    sizes = []
    for path in argv[2:]:
        data = open(path, "rb").read()
        if len(data) < 32:
            continue
        page_size = struct.unpack(">I", data[8:12])[0]
        salts = data[16:24]
        at, pages = 32, collections.Counter()
        while at + 24 + page_size <= len(data):
            page, commit = struct.unpack(">II", data[at:at + 8])
            if data[at + 8:at + 16] != salts:
                break  # a frame of the WAL's previous generation
            pages[owner.get(page, "(page not in the store now)")] += 1
            at += 24 + page_size
            if commit:
                per_tree.update(pages)
                sizes.append(sum(pages.values()))
                pages = collections.Counter()
    if not sizes:
        print("wal_pages: no commit in the copies", file=sys.stderr)
        return 1
    sizes.sort()
    n = len(sizes)
    print("commits %d, pages per commit: mean %.1f, p50 %d, p90 %d, max %d"
          % (n, sum(sizes) / n, sizes[n // 2], sizes[int(n * 0.9)], sizes[-1]))
    for name, count in per_tree.most_common():
        print("%7.2f  %s" % (count / n, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
