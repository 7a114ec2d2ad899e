#!/usr/bin/env bash
# Plays one removal case of the (fictional) Dutch migration chain through a real Keten broker:
# every partner talks to the broker with the `keten` CLI over CurveZMQ; the store is a temporary
# SQLite file. Usage: demo.sh [path/to/keten]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
keten="$(realpath "${1:-$here/../../build/keten}")"
samples="$here/../../contracts/migration-chain/samples"
partners=(IND COA DTV KMAR POL-AVIM DJI DVO GZA)
case_ref="9990012345"
run="$(mktemp -d /tmp/keten-demo-XXXXXX)"
broker_pid=""

cleanup() {
  if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then kill -TERM "$broker_pid"; wait "$broker_pid" || true; fi
  rm -rf "$run"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# --- set-up: keys on first run, never committed ----------------------------------------------
mkdir -p "$here/keys"
for name in broker "${partners[@]}"; do
  [ -f "$here/keys/$name.secret" ] || "$keten" keygen "$name" --dir "$here/keys" >/dev/null
done

if (exec 3<>/dev/tcp/127.0.0.1/5570) 2>/dev/null; then
  echo "demo: port 5570 is in use; stop whatever listens there (another demo?) and retry" >&2
  exit 2
fi

say "Starting the broker (store: $run/keten.db)"
"$keten" --log-level warn serve --config "$here/keten.toml" --store "$run/keten.db" >"$run/serve.out" 2>"$run/serve.log" &
broker_pid=$!
for _ in $(seq 1 100); do grep -q '^listening' "$run/serve.out" 2>/dev/null && break; sleep 0.1; done
grep '^listening' "$run/serve.out" || { cat "$run/serve.log"; exit 1; }

# send PARTNER CONTRACT SAMPLE [extra keten-send flags...]: prints the receipt in one line.
send() {
  local partner="$1" contract="$2" sample="$3"; shift 3
  [ -f "$sample" ] || sample="$samples/$sample"
  local out rc=0
  out="$("$keten" send --profile "$here/profiles/$partner.toml" --contract "$contract" --case "$case_ref" \
        "$@" "$sample" 2>/dev/null)" || rc=$?
  printf '%-8s %-34s -> %s\n' "$partner" "$contract" "$(summarise_receipt "$out")"
  return $rc
}

summarise_receipt() {
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
if r["status"] == "rejected":
    problems = "; ".join("%s %s: %s" % (e["pointer"], e["code"], e["reason"]) for e in r["errors"])
    print("REJECTED (%s): %s" % (r["code"], problems or r["detail"]))
else:
    print("%s, log #%s, to %s" % (r["status"], r["log_seq"], ", ".join(r["recipients"]) or "nobody"))
' "$1"
}

receive() {
  local partner="$1"
  "$keten" recv --profile "$here/profiles/$partner.toml" --wait 1 >"$run/$partner.jsonl"
  python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
print("%s received %d message(s):" % (sys.argv[1], len(rows)))
for d in rows:
    print("   %-34s from %-6s case %s  attempt %s  id %s" % (d["contract"], d["sender"], d["case"], d["attempt"], d["message_id"][:8]))
' "$partner" "$run/$partner.jsonl"
}

# --- the removal case -----------------------------------------------------------------------
say "A removal case for V-number $case_ref (all data fictional). COA's system is offline for now."
send IND returncase.opened returncase.opened.valid.json --occurred-at 2025-03-01T10:00:00+01:00
departure_id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
send DTV departure.scheduled departure.scheduled.valid.json --id "$departure_id" --occurred-at 2025-03-07T09:00:00+01:00

say "A mistake is refused at the door, naming the field"
send DTV departure.scheduled departure.scheduled.invalid-std-date-time.json || true

say "Resending the same message id gives the first receipt back (no second message)"
send DTV departure.scheduled departure.scheduled.valid.json --id "$departure_id"

say "Someone who does not own an item cannot publish it"
send KMAR transport.ordered transport.ordered.valid.json || true

say "The rest of the departure track"
send DTV transport.ordered transport.ordered.valid.json --causation "$departure_id"
send DTV departure.particulars.published departure.particulars.published.valid.json --causation "$departure_id"
send IND removability.checked removability.checked.valid.json
send DVO transport.confirmed transport.confirmed.valid.json
send DVO custody.handover.recorded custody.handover.recorded.valid.json
send KMAR custody.handover.recorded "$here/samples/custody.handover.recorded.taker.json"
send KMAR departure.outcome.recorded departure.outcome.recorded.valid.json

say "What each online partner received (each delivery acknowledged after it was written out)"
for p in DTV KMAR DJI DVO IND GZA; do receive "$p"; done

say "COA comes back online and catches up on everything it missed"
receive COA

say "Stopping the broker"
kill -TERM "$broker_pid"
wait "$broker_pid" && echo "broker stopped cleanly"
broker_pid=""
say "Handover log: $(sqlite3 "$run/keten.db" 'select count(*) from handover_log') events; by kind:"
sqlite3 -column "$run/keten.db" 'select event, count(*) as n from handover_log group by event order by min(seq)'
