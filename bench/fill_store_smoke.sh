#!/bin/bash
# fill_store --compare --lean on a few messages (a second): it runs, prints the three figures, and
# the lean layout holds what it claims per message (tests/CMakeLists.txt: fill_store_compare_smoke).
#   bench/fill_store_smoke.sh FILL_STORE
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$("$1" --store "$dir/s.db" --messages 300 --batch 30 --compare --lean 2>&1)
echo "$out"
echo "$out" | grep -Eq '"schema4_cpu_us_per_message":[0-9.]+,"schema5_cpu_us_per_message":[0-9.]+,"ratio":[0-9.]+,"lean_cpu_us_per_message":[0-9.]+,"lean_ratio":[0-9.]+'
# One id entry per message, one payload row per transaction of 30, one acknowledged-through mark
# at the last message's accepted event: the second of its six (6 × 299 + 2).
counts=$(sqlite3 "$dir/s.db.lean" "SELECT count(*) FROM lean_ids; SELECT count(*) FROM lean_payloads;
  SELECT sum(length(bytes)) FROM lean_payloads; SELECT through FROM lean_acked WHERE recipient = 'KMAR';
  SELECT max(seq) FROM lean_ids;" | tr '\n' ' ')
echo "lean rows: $counts"
[ "$counts" = "300 10 307200 1796 1796 " ]
