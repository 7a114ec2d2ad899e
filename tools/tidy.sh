#!/usr/bin/env bash
# clang-tidy over the product's sources and its benches (not tests or generated code) with the checks in
# .clang-tidy: bug patterns that are defects when they fire. Any finding fails the run.
#   tools/tidy.sh [BUILD_DIR]   (default build; needs its compile_commands.json)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
db="$build/compile_commands.json"
[ -f "$db" ] || { echo "tidy: $db missing: configure the build first (make configure; build-asan: make test)" >&2; exit 2; }
tidy="$(command -v clang-tidy-14 || command -v clang-tidy || true)"
[ -n "$tidy" ] || { echo "tidy: clang-tidy not installed (tools/install-deps.sh installs clang-tidy-14)" >&2; exit 2; }
# The product's translation units, as the build compiles them.
# Only files of this checkout's broker/, contracts/, adapters/ and bench/: never generated code (which lives
# in a build folder) and never another checkout's files.
mapfile -t files < <(/usr/bin/python3 - "$db" "$root" <<'PY'
import json, sys, os, re
db, root = sys.argv[1], os.path.realpath(sys.argv[2])
seen = set()
for entry in json.load(open(db)):
    f = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
    if not re.match(r"(broker|contracts|adapters|bench)/", os.path.relpath(f, root)):
        continue
    if f not in seen:
        seen.add(f)
        print(f)
PY
)
[ ${#files[@]} -gt 0 ] || { echo "tidy: no sources found in $db" >&2; exit 2; }
log="$build/tidy.log"
echo "tidy: ${#files[@]} files, checks from .clang-tidy, log in $log"
jobs="${JOBS:-$(nproc)}"
# Through sh, so a clang-tidy that crashes counts as a failure and xargs goes on with the other files
# (xargs stops starting commands when one is killed by a signal).
if printf '%s\0' "${files[@]}" | xargs -0 -n 4 -P "$jobs" sh -c \
     'b="$1" c="$2"; shift 2; "$0" -p "$b" --config-file="$c" --quiet "$@" || exit 1' "$tidy" "$build" "$root/.clang-tidy" \
     > "$log" 2>&1; then
  echo "tidy: clean"
else
  # A finding is an error: line (WarningsAsErrors); a crash or a file that does not compile shows
  # as the log's tail instead. Either fails.
  grep -E 'error:|warning:' "$log" | sort -u | head -50 | grep . || tail -n 20 "$log"
  echo "tidy: findings above (whole output: $log)" >&2
  exit 1
fi
