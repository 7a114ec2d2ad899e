#!/usr/bin/env bash
# Plays one removal case of the (fictional) Dutch migration chain through a real Keten broker:
# every partner talks to the broker with the `keten` CLI over CurveZMQ; the store is a temporary
# SQLite file. Usage: demo.sh [path/to/keten]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
keten="$(realpath "${1:-$here/../../build/keten}")"
samples="$here/../../contracts/migration-chain/samples"
partners=(IND COA DTV KMAR POL-AVIM DJI DVO GZA DJI-MD IND-BMA ZHP IOM BZ DRM RECHTSPRAAK AIR-ZZ PTR-001 GEM-0014)
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
[ -f "$here/keys/broker.sign.secret" ] || "$keten" keygen broker --signing --dir "$here/keys" >/dev/null
[ -f "$here/keys/broker.payload.secret" ] || "$keten" keygen broker --payload --dir "$here/keys" >/dev/null

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
    if d["removed_fields"]:
        print("      withheld from it: " + ", ".join(d["removed_fields"]))
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

say "Medical information goes only where it may: GZA's action perspective for the transport"
send GZA health.action-perspective.published health.action-perspective.published.valid.json --to DVO
receive DVO
echo "GZA (care provider) registers the person's consent: DVO may see the medical details for this case"
valid_until="$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)"
printf '{"recipient":"DVO","purpose":"safe-transport-and-removal","valid_until":"%s","form_ref":"M39-A/2025/000981"}\n' \
  "$valid_until" >"$run/consent.json"
send GZA consent.registered "$run/consent.json"
send GZA health.action-perspective.published health.action-perspective.published.valid.json --to DVO
receive DVO
echo "   the log records each decision and its basis, never the values:"
/usr/bin/python3 "$here/log_events.py" "$keten" "$run/keten.db" lines redacted,policy_allowed DVO

say "What each online partner received (each delivery acknowledged after it was written out)"
for p in DTV KMAR DJI DVO IND GZA; do receive "$p"; done

say "COA comes back online and catches up on everything it missed"
receive COA

# --- non-chain parties through the file adapter (docs/file-adapter.md) ----------------------
# An airline (AIR-ZZ) and a private transport firm (PTR-001) run none of our software: one
# `keten adapter file` per party holds its key and exchanges files with it (adapters/*.toml).
adapter_pids=()
trap 'for p in "${adapter_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; cleanup' EXIT
rm -rf "$here/run/AIR-ZZ" "$here/run/PTR-001"

# wait_for FILE PATTERN [N]: waits (up to 15 s) until N (default 1) lines of FILE match PATTERN.
wait_for() {
  for _ in $(seq 1 150); do
    [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0; sleep 0.1
  done
  echo "demo: timed out waiting for '$2' in $1" >&2; cat "$run"/adapter-*.log >&2; return 1
}
# drop PARTY FILE: the party's system writes FILE into its inbox under a .tmp name, then renames it.
drop() {
  local inbox="$here/run/$1/inbox" name; name="$(basename "$2")"
  cp "$2" "$inbox/$name.tmp" && mv "$inbox/$name.tmp" "$inbox/$name"
  echo "$1 dropped $name"
}
for party in AIR-ZZ PTR-001; do
  "$keten" --log-level warn adapter file --config "$here/adapters/$party.toml" >"$run/adapter-$party.out" 2>"$run/adapter-$party.log" &
  adapter_pids+=($!)
  wait_for "$run/adapter-$party.out" '^watching'
done

say "A file arrives: the airline drops booking confirmations (CSV) in its inbox"
drop AIR-ZZ "$here/drop/AIR-ZZ/bookings-2025-03-10.csv"
wait_for "$run/adapter-AIR-ZZ.out" '^processed bookings-2025-03-10.csv'
echo "AIR-ZZ inbox/processed: $(ls "$here/run/AIR-ZZ/inbox/processed")"
receive DTV
echo "   stored with origin: $(sqlite3 "$run/keten.db" "select group_concat(distinct origin) from messages where sender = 'AIR-ZZ'")"

say "A denied-boarding file with two bad rows: the good row goes through, the clerk gets a report"
drop AIR-ZZ "$here/drop/AIR-ZZ/denied-2025-03-12.csv"
wait_for "$run/adapter-AIR-ZZ.out" '^rejected denied-2025-03-12.csv'
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("rejected/denied-2025-03-12.csv.errors.json: " + r["summary"])
for m in r["messages"]:
    print("   line %s (case %s): %s" % (m.get("line"), m.get("case", "?"), m["status"]))
    for e in m.get("errors", []):
        print("      column %-18s %s" % (e.get("column", e["field"]), e["problem"]))
' "$here/run/AIR-ZZ/inbox/rejected/denied-2025-03-12.csv.errors.json"
receive KMAR

say "A file leaves: DT&V orders special transport; the order appears in PTR-001's outbox"
send DTV special.transport.ordered special.transport.ordered.valid.json --to PTR-001
wait_for "$run/adapter-PTR-001.out" '^written '
order_id="$(sed -n 's/^written //p' "$run/adapter-PTR-001.out" | head -1)"
(cd "$here/run/PTR-001/outbox" && ls special.transport.ordered/)
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("   %s from %s, case %s: pickup %s at %s by %s" % (d["contract"], d["sender"], d["case"],
      d["payload"]["pickup_location"], d["payload"]["pickup_at"], d["payload"]["vehicle"]))
' "$here/run/PTR-001/outbox/special.transport.ordered/$order_id.json"

say "PTR-001 answers with a JSON file; dropping it again is recognised as a duplicate"
drop PTR-001 "$here/drop/PTR-001/transport-confirmed-STO-2025-000031.json"
wait_for "$run/adapter-PTR-001.out" '^processed transport-confirmed-STO-2025-000031.json'
drop PTR-001 "$here/drop/PTR-001/transport-confirmed-STO-2025-000031.json"
wait_for "$run/adapter-PTR-001.out" '^processed transport-confirmed-STO-2025-000031.json' 2
echo "PTR-001 inbox/processed: $(ls "$here/run/PTR-001/inbox/processed" | tr '\n' ' ')"
receive DTV

for p in "${adapter_pids[@]}"; do kill -TERM "$p"; wait "$p" || true; done
adapter_pids=()
trap cleanup EXIT
echo "file adapters stopped"

# --- a municipality by email (docs/email-adapter.md) -------------------------------------------
# The municipality GEM-0014 only uses email. `keten adapter email` holds its key: DT&V's notice
# goes out as a mail (here to a local SMTP sink, aiosmtpd), and the desk's answer mail (a JSON
# attachment, read from a Maildir) comes in as a contract message, answered by mail.
if (exec 3<>/dev/tcp/127.0.0.1/5571) 2>/dev/null; then
  echo "demo: port 5571 (the demo's SMTP sink) is in use; stop whatever listens there and retry" >&2
  exit 2
fi
rm -rf "$here/run/GEM-0014"
mkdir -p "$here/run/GEM-0014/maildir/"{new,cur,tmp}  # the sink creates its own Maildir
/usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:5571 -c aiosmtpd.handlers.Mailbox "$run/smtp-sink" >"$run/smtp-sink.log" 2>&1 &
smtp_pid=$!
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/5571) 2>/dev/null && break; sleep 0.1; done
"$keten" --log-level warn adapter email --config "$here/adapters/email-gem-0014.toml" >"$run/adapter-email.out" 2>"$run/adapter-email.log" &
email_pid=$!
trap 'kill -TERM "$email_pid" "$smtp_pid" 2>/dev/null || true; cleanup' EXIT
wait_for "$run/adapter-email.out" '^email adapter running'

# show_mails N: waits until the sink holds N mails, then prints the newest one as its reader sees it.
show_mails() {
  for _ in $(seq 1 150); do [ "$(ls "$run/smtp-sink/new" 2>/dev/null | wc -l)" -ge "$1" ] && break; sleep 0.1; done
  /usr/bin/python3 -c '
import email, email.policy, os, sys
folder = os.path.join(sys.argv[1], "new")
names = sorted(os.listdir(folder), key=lambda n: os.path.getmtime(os.path.join(folder, n)))
if len(names) < int(sys.argv[2]):
    sys.exit("demo: no mail arrived at the SMTP sink")
m = email.message_from_binary_file(open(os.path.join(folder, names[-1]), "rb"), policy=email.policy.default)
for h in ("From", "To", "Subject", "Message-ID", "In-Reply-To"):
    if m[h]: print("   %-11s %s" % (h + ":", m[h]))
print("   " + "-" * 72)
for line in m.get_body(("plain",)).get_content().splitlines(): print("   | " + line)
for a in m.iter_attachments(): print("   [attachment %s, %s, %d bytes]" % (a.get_filename(), a.get_content_type(), len(a.get_content())))
' "$run/smtp-sink" "$1"
}

say "A municipality by email: DT&V tells GEM-0014 about the departure; the desk gets a mail"
send DTV municipality.departure.notified municipality.departure.notified.valid.json
show_mails 1

say "The desk answers by mail with a JSON attachment; the adapter submits it and replies"
cp "$here/drop/GEM-0014/antwoord-MDN-2025-000123.eml" "$here/run/GEM-0014/maildir/tmp/1.antwoord"
mv "$here/run/GEM-0014/maildir/tmp/1.antwoord" "$here/run/GEM-0014/maildir/new/1.antwoord"
show_mails 2
echo "GEM-0014 maildir, handled: $(ls "$here/run/GEM-0014/maildir/.Processed/cur" 2>/dev/null | tr '\n' ' ')"
receive DTV
echo "   stored with origin: $(sqlite3 "$run/keten.db" "select group_concat(distinct origin) from messages where sender = 'GEM-0014'")"

kill -TERM "$email_pid" "$smtp_pid"; wait "$email_pid" || true; wait "$smtp_pid" 2>/dev/null || true
trap cleanup EXIT
echo "email adapter and SMTP sink stopped"

say "Stopping the broker"
kill -TERM "$broker_pid"
wait "$broker_pid" && echo "broker stopped cleanly"
broker_pid=""
/usr/bin/python3 "$here/log_events.py" "$keten" "$run/keten.db" counts >"$run/log-counts.txt"
say "Handover log: $(head -1 "$run/log-counts.txt") events; by kind:"
tail -n +2 "$run/log-counts.txt"

# --- the inspector's view: verify the log, replay the case (docs/inspector.md) ----------------
# Read-only tools on the stopped broker's store; each read is itself recorded in the log. Every
# stored payload is sealed under its case's key, so the tools that read payloads (to check them
# against the log, to count the fields filled in) get the broker's payload key.
payload_key="$here/keys/broker.payload.secret"
timeline="${KETEN_DEMO_TIMELINE:-$(dirname "$keten")/case-$case_ref.html}"
say "Verifying the handover log against the broker's signing key"
"$keten" --log-level warn log verify --store "$run/keten.db" --signing-key "$here/keys/broker.sign.public"
say "The timeline of case $case_ref, across all partners"
"$keten" --log-level warn log replay --store "$run/keten.db" --case "$case_ref" --payload-key "$payload_key"
say "What KMAR had received about the case, and acknowledged"
"$keten" --log-level warn log replay --store "$run/keten.db" --case "$case_ref" --partner KMAR --payload-key "$payload_key" | sed -n '/^KMAR had/,$p'
"$keten" --log-level warn log replay --store "$run/keten.db" --case "$case_ref" --payload-key "$payload_key" --format html --out "$timeline"
say "HTML timeline for the inspector: $timeline"

# --- the chain manager's view: data quality for the PDCA cycle (docs/quality-report.md) -------
quality="${KETEN_DEMO_QUALITY:-$(dirname "$keten")/quality-report.html}"
say "Timeliness norms missed in this run (the sample dates lie in the past, so announcements came late)"
/usr/bin/python3 "$here/log_events.py" "$keten" "$run/keten.db" norms 6
say "Data-quality report (text; the same as one HTML page for the chain manager: $quality)"
"$keten" --log-level warn report quality --store "$run/keten.db" --contracts "$here/../../contracts/migration-chain" --payload-key "$payload_key" >"$run/quality.txt"
sed -n 1,40p "$run/quality.txt"
"$keten" --log-level warn report quality --store "$run/keten.db" --contracts "$here/../../contracts/migration-chain" --payload-key "$payload_key" --format html --out "$quality"
