#!/usr/bin/env bash
# `make demo`'s scenario as a test: runs examples/migration-chain/demo.sh with the built keten and
# checks what a newcomer is shown at each step (README.md). The demo itself prints and never checks;
# this fails naming the first line that is missing.
#   tests/integration/demo_test.sh KETEN_BINARY SOURCE_DIR
set -euo pipefail
keten="$1"
source_dir="$2"
out_dir="$(mktemp -d /tmp/keten-demo-test-XXXXXX)"
trap 'rm -rf "$out_dir"' EXIT

status=0
KETEN_DEMO_TIMELINE="$out_dir/case.html" KETEN_DEMO_QUALITY="$out_dir/quality.html" \
  "$source_dir/examples/migration-chain/demo.sh" "$keten" >"$out_dir/demo.out" 2>"$out_dir/demo.err" || status=$?
# Without the terminal's bold markers.
sed 's/\x1b\[[0-9;]*m//g' "$out_dir/demo.out" >"$out_dir/demo.txt"
if [ "$status" -ne 0 ]; then
  echo "demo_test: demo.sh exited $status"
  tail -n 30 "$out_dir/demo.txt"
  tail -n 30 "$out_dir/demo.err"
  exit 1
fi

missing=0
expect() {  # expect REGEX WHAT: one line of the demo's output matches REGEX
  if ! grep -Eq -- "$1" "$out_dir/demo.txt"; then
    echo "demo_test: missing: $2 (no line matches /$1/)"
    missing=1
  fi
}
expect '^IND +returncase\.opened +-> accepted, log #[0-9]+, to DTV, COA, DJI$' "IND's case opened and routed"
expect '^DTV +departure\.scheduled +-> REJECTED \(schema_violation\): /std format' "a bad date refused, naming /std"
expect '^DTV +departure\.scheduled +-> duplicate, log #' "the resent message answered as a duplicate"
expect '^KMAR +transport\.ordered +-> REJECTED \(not_owner\)' "a non-owner refused"
expect 'withheld from it: /action_perspective_ref' "a medical field withheld from DVO without consent"
expect '^ +policy_allowed DVO \{"basis":"consent:' "DVO allowed after the consent, the basis logged"
expect '^COA received 6 message\(s\):$' "COA catching up on six messages"
expect '1 of 3 message\(s\) accepted, 2 refused' "the denied-boarding file's report"
expect 'special\.transport\.ordered from DTV, case 9990012345: pickup AZC-TER-APEL' "the transport order in PTR-001's outbox"
expect '^ +Subject: +Vertrekbericht DT&V - case 9990012345' "the municipality's mail"
expect '^broker stopped cleanly$' "the broker stopping cleanly"
expect '^== Handover log: [0-9]+ events; by kind:$' "the log's event counts"
expect '^intact: [0-9]+ events' "the log verified intact"
expect 'NORM VIOLATED published-72h-before-std' "the timeline's norm violations"
expect '^KMAR had' "what KMAR had received"
expect 'timeliness: ' "the quality report"
for page in case.html quality.html; do
  [ -s "$out_dir/$page" ] || { echo "demo_test: the demo wrote no $page"; missing=1; }
done
[ "$missing" -eq 0 ] || { echo "--- demo output ---"; cat "$out_dir/demo.txt"; exit 1; }
echo "demo_test: ok: $(grep -c . "$out_dir/demo.txt") lines, every step shown"
