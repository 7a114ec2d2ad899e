#!/usr/bin/python3
"""The inspector's scenario: three cases of the (fictional) migration chain played over a real
`keten serve` with the migration-chain contract set, then answered as an inspector would, offline,
from an exported and verified bundle; and a write-protected store copy replayed and verified.

  (a) 9990012345, a removal: a late transfer announcement, COA offline until the end, GZA's
      consent given and withdrawn around its action perspective for DV&O, the airline by the file
      adapter, a notice to the offline municipality that an alert names, that its system refuses until it is
      dead-lettered, and that an operator re-sends, a refused non-owner
      write, a dispute raised and resolved, the custody handover, the outcome, the person informed;
  (b) 9990022222, an article 64 stop: request, decision, departure and transport cancelled;
  (c) 9990033333, a detention with a Dublin claim: detention imposed, the court notified, the claim
      accepted with its transfer deadline, the transfer.

For each of the inspector's questions A1-A20 (docs/inspector.md) it checks the lines of the replay
(or report) output that answer it, and prints how each is answered: fully, partly (what is shown
is asserted; what is missing is named) or not. Usage: inspector_scenario.py KETEN SOURCE_DIR
REFUSE_DELIVERIES (tests/support/refuse_deliveries.cpp).
KETEN_SCENARIO_KEEP=DIR keeps every output in DIR.
"""
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

KETEN = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from log_rows import log_rows  # noqa: E402
SOURCE = os.path.abspath(sys.argv[2])
REFUSE = os.path.abspath(sys.argv[3])  # tests/support/refuse_deliveries.cpp: a partner that nacks
CONTRACTS = os.path.join(SOURCE, "contracts", "migration-chain")
SAMPLES = os.path.join(CONTRACTS, "samples")
EXAMPLE = os.path.join(SOURCE, "examples", "migration-chain")
CASE_A, CASE_B, CASE_C = "9990012345", "9990022222", "9990033333"
PARTNERS = ["IND", "COA", "DTV", "KMAR", "POL-AVIM", "DJI", "DVO", "GZA", "DJI-MD", "IND-BMA", "ZHP", "IOM", "BZ",
            "DRM", "RECHTSPRAAK", "AIR-ZZ", "PTR-001", "GEM-0014"]

keep = os.environ.get("KETEN_SCENARIO_KEEP")
work = keep or tempfile.mkdtemp(prefix="keten-inspector-")
if keep:
    shutil.rmtree(work, ignore_errors=True)
os.makedirs(work, exist_ok=True)
os.chmod(work, 0o755)
keys = os.path.join(work, "keys")
profiles = os.path.join(work, "profiles")
failures = []
broker = None


def fail(text):
    failures.append(text)
    print("FAILED: " + text)


def run(argv, expect=(0,), stdin=None, env=None):
    p = subprocess.run(argv, capture_output=True, text=True, input=stdin, timeout=120, env=env)
    if expect is not None and p.returncode not in expect:
        raise SystemExit("command failed (%d): %s\n%s%s" % (p.returncode, " ".join(argv), p.stdout, p.stderr))
    return p


def keten(*args, expect=(0,)):
    return run([KETEN, "--log-level", "warn"] + list(args), expect=expect)


def sample(name, **changes):
    with open(os.path.join(SAMPLES, name + ".valid.json")) as f:
        payload = json.load(f)
    payload.update(changes)
    return payload


def send(partner, contract, case, payload, *flags, expect=(0,)):
    path = os.path.join(work, "payload-%s.json" % uuid.uuid4())
    with open(path, "w") as f:
        json.dump(payload, f)
    p = keten("send", "--profile", os.path.join(profiles, partner + ".toml"), "--contract", contract, "--case",
              case, *flags, path, expect=expect)
    receipt = json.loads(p.stdout)
    print("%-8s %-36s %s -> %s" % (partner, contract, case, receipt["status"]))
    return receipt


def receive(partner):
    """Takes every delivery waiting for `partner` and acknowledges each (as its system would)."""
    p = run([KETEN, "--log-level", "warn", "recv", "--profile", os.path.join(profiles, partner + ".toml"), "--wait", "3"])
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def count_rows(event, kind="", recipient=""):
    return sum(1 for r in log_rows(KETEN, store)
               if r["event"] == event and kind in r.get("detail", "") and recipient in r.get("recipient", ""))


def start_broker():
    global broker
    broker = subprocess.Popen([KETEN, "--log-level", "warn", "serve", "--config", os.path.join(work, "keten.toml")]
                              + (["--listen", endpoint] if endpoint else []),
                              stdout=subprocess.PIPE, stderr=open(os.path.join(work, "serve.log"), "a"), text=True)
    line = broker.stdout.readline()
    if not line.startswith("listening "):
        raise SystemExit("broker did not start: " + line + open(os.path.join(work, "serve.log")).read())
    return line.split()[1]


def stop_broker():
    global broker
    broker.send_signal(signal.SIGTERM)
    if broker.wait(timeout=60) != 0:
        raise SystemExit("broker did not stop cleanly")
    broker = None


def wait_for(predicate, what, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit("timed out waiting for " + what)


# --- set-up: keys, the example chain's config on a free port, one profile per partner ----------
os.makedirs(keys)
os.makedirs(profiles)
for name in ["broker"] + PARTNERS:
    keten("keygen", name, "--dir", keys)
keten("keygen", "broker", "--signing", "--dir", keys)
keten("keygen", "broker", "--payload", "--dir", keys)
with open(os.path.join(EXAMPLE, "keten.toml")) as f:
    config = f.read()
config = re.sub(r'(?m)^listen = .*$', 'listen = "tcp://127.0.0.1:*"', config)
config = re.sub(r'(?m)^contracts = .*$', 'contracts = "%s"' % CONTRACTS, config)
config = re.sub(r'(?m)^max_attempts = .*$', 'max_attempts = 2', config)
config = re.sub(r'(?m)^ack_timeout_ms = .*$', 'ack_timeout_ms = 2000', config)
config = re.sub(r'(?m)^checkpoint_interval_ms = .*$', 'checkpoint_interval_ms = 500', config)
config += "\n[alerts]\ncheck_interval_ms = 200\noldest_undelivered_ms = 1000\n"
with open(os.path.join(work, "keten.toml"), "w") as f:
    f.write(config)
store = os.path.join(work, "run", "keten.db")
endpoint = None
endpoint = start_broker()
for p in PARTNERS:
    with open(os.path.join(profiles, p + ".toml"), "w") as f:
        f.write('broker = "%s"\nbroker_public_key = "../keys/broker.public"\npartner = "%s"\n'
                'secret_key = "../keys/%s.secret"\nbroker_signing_key = "../keys/broker.sign.public"\n'
                % (endpoint, p, p))
signing_public = open(os.path.join(keys, "broker.sign.public")).read().strip()
PURPOSE = "inspection 2025-17 (scenario)"
# The broker's verifier key as the tree checks name it: <origin>+<key id>+base64(0x01 || key).
VKEY = r"keten/[0-9a-f]{16}\+[0-9a-f]{8}\+" + re.escape(base64.b64encode(b"\x01" + bytes.fromhex(signing_public)).decode())

try:
    # --- (a) the removal ----------------------------------------------------------------------
    print("== (a) removal, case %s (COA offline until the end)" % CASE_A)
    send("IND", "returncase.opened", CASE_A, sample("returncase.opened"), "--occurred-at", "2025-03-01T10:00:00+01:00",
         "--recorded-at", "2025-03-01T10:20:00+01:00")
    transfer = send("DTV", "transfer.announced", CASE_A, sample("transfer.announced"),
                    "--occurred-at", "2025-03-05T08:00:00+01:00", "--recorded-at", "2025-03-05T09:00:00+01:00")
    send("GZA", "care.handover.status", CASE_A, sample("care.handover.status"))
    departure = send("DTV", "departure.scheduled", CASE_A, sample("departure.scheduled"))
    again = send("DTV", "departure.scheduled", CASE_A, sample("departure.scheduled"), "--id", departure["message_id"])
    assert again["status"] == "duplicate", again
    send("KMAR", "transport.ordered", CASE_A, sample("transport.ordered"), expect=(1,))  # not the owner
    send("DTV", "transport.ordered", CASE_A, sample("transport.ordered"), "--causation", departure["message_id"])
    send("DVO", "transport.confirmed", CASE_A, sample("transport.confirmed"))
    send("DTV", "departure.particulars.published", CASE_A, sample("departure.particulars.published"),
         "--causation", departure["message_id"])
    dispute = send("KMAR", "dataitem.dispute.raised", CASE_A,
                   sample("dataitem.dispute.raised", disputed_message_id=departure["message_id"]), "--to", "DTV")
    send("DTV", "dataitem.dispute.resolved", CASE_A,
         sample("dataitem.dispute.resolved", corrected_by_message_id=departure["message_id"]), "--to", "KMAR",
         "--causation", dispute["message_id"])
    # GZA's action perspective: to DV&O without its medical fields, then with them under consent,
    # then the consent is withdrawn and a corrected version goes out without them again.
    hap1 = send("GZA", "health.action-perspective.published", CASE_A, sample("health.action-perspective.published"),
                "--to", "DVO", "--to", "KMAR")
    receive("DVO")
    send("GZA", "consent.registered", CASE_A,
         sample("consent.registered", recipient="DVO", valid_until="2099-12-31T23:59:00Z"))
    hap2 = send("GZA", "health.action-perspective.published", CASE_A, sample("health.action-perspective.published"),
                "--to", "DVO", "--to", "KMAR", "--supersedes", hap1["message_id"])
    receive("DVO")
    send("GZA", "consent.withdrawn", CASE_A, sample("consent.withdrawn", recipient="DVO"))
    hap3 = send("GZA", "health.action-perspective.published", CASE_A, sample("health.action-perspective.published"),
                "--to", "DVO", "--to", "KMAR", "--supersedes", hap2["message_id"])
    send("IND", "removability.checked", CASE_A, sample("removability.checked"))
    giver = sample("custody.handover.recorded")
    giver["action_perspective_version_acknowledged"]["message_id"] = hap3["message_id"]
    send("DVO", "custody.handover.recorded", CASE_A, giver)
    with open(os.path.join(EXAMPLE, "samples", "custody.handover.recorded.taker.json")) as f:
        taker = json.load(f)
    taker["action_perspective_version_acknowledged"]["message_id"] = hap3["message_id"]
    send("KMAR", "custody.handover.recorded", CASE_A, taker)
    send("KMAR", "departure.outcome.recorded", CASE_A, sample("departure.outcome.recorded"))
    send("DTV", "person.informed", CASE_A, sample("person.informed", about_message_id=departure["message_id"]))
    for p in ["DTV", "KMAR", "DJI", "DVO", "IND", "GZA"]:
        receive(p)

    # The airline by the file adapter: its booking file becomes a flight.booking.confirmed.
    adapter_dir = os.path.join(work, "AIR-ZZ")
    with open(os.path.join(EXAMPLE, "adapters", "AIR-ZZ.toml")) as f:
        adapter = f.read()
    adapter = adapter.replace("../profiles/AIR-ZZ.toml", os.path.join(profiles, "AIR-ZZ.toml"))
    adapter = adapter.replace("../run/AIR-ZZ", adapter_dir)
    with open(os.path.join(work, "AIR-ZZ.adapter.toml"), "w") as f:
        f.write(adapter)
    file_adapter = subprocess.Popen([KETEN, "--log-level", "warn", "adapter", "file", "--config",
                                     os.path.join(work, "AIR-ZZ.adapter.toml")], stdout=subprocess.PIPE, text=True)
    wait_for(lambda: file_adapter.stdout.readline().startswith("watching"), "the file adapter")
    os.makedirs(os.path.join(adapter_dir, "inbox"), exist_ok=True)
    shutil.copy(os.path.join(EXAMPLE, "drop", "AIR-ZZ", "bookings-2025-03-10.csv"),
                os.path.join(adapter_dir, "inbox", "bookings.csv.tmp"))
    os.rename(os.path.join(adapter_dir, "inbox", "bookings.csv.tmp"),
              os.path.join(adapter_dir, "inbox", "bookings-2025-03-10.csv"))
    wait_for(lambda: file_adapter.stdout.readline().startswith("processed bookings-2025-03-10.csv"),
             "the booking file")
    file_adapter.send_signal(signal.SIGTERM)
    file_adapter.wait(timeout=30)
    receive("DTV")
    receive("KMAR")

    # The municipality's desk is offline: its notice waits and the oldest_undelivered alert names
    # the case. Its system comes back but cannot process the notice and refuses it twice: the
    # broker gives up (a dead letter, which the dead_letters alert names), an operator re-sends it
    # as a new handover, and the desk takes that one.
    notice = send("DTV", "municipality.departure.notified", CASE_A, sample("municipality.departure.notified"))
    wait_for(lambda: count_rows("alert", "oldest_undelivered", "GEM-0014") > 0, "the oldest_undelivered alert")
    gem = os.path.join(profiles, "GEM-0014.toml")
    run([REFUSE, gem, "2", "60"])
    for _ in range(10):  # connected again, with nothing to refuse: the broker gives the notice up
        if count_rows("dead_lettered") > 0:
            break
        run([REFUSE, gem, "1", "2"], expect=(0, 1))
    wait_for(lambda: count_rows("alert", "dead_letters", "GEM-0014") > 0, "the dead_letters alert")
    # Every payload is sealed (under its case's key): the operator re-sends with the payload key.
    keten("log", "resend", "--store", store, "--message", notice["message_id"], "--to", "GEM-0014", "--into",
          profiles, "--purpose", "operator: re-send after the municipality's outage",
          "--payload-key", os.path.join(keys, "broker.payload.secret"))
    receive("GEM-0014")

    # --- (b) the article 64 stop ------------------------------------------------------------
    print("== (b) article 64 stop, case %s" % CASE_B)
    dep_b, trn_b = "DEP-2025-000522", "TRN-2025-000990"
    send("IND", "returncase.opened", CASE_B, sample("returncase.opened", v_nummer=CASE_B))
    dep = send("DTV", "departure.scheduled", CASE_B, sample("departure.scheduled", departure_id=dep_b))
    send("DTV", "transport.ordered", CASE_B, sample("transport.ordered", departure_id=dep_b, transport_id=trn_b),
         "--causation", dep["message_id"])
    req = send("IND", "article64.requested", CASE_B,
               sample("article64.requested", v_nummer=CASE_B, departure_id=dep_b, family_members_covered=[]))
    decided = send("IND", "article64.decided", CASE_B,
                   sample("article64.decided", v_nummer=CASE_B, family_members_covered=[]),
                   "--causation", req["message_id"])
    send("DTV", "departure.cancelled", CASE_B,
         sample("departure.cancelled", departure_id=dep_b, transport_ids_cancelled=[trn_b]),
         "--causation", decided["message_id"])
    send("DTV", "transport.cancelled", CASE_B,
         sample("transport.cancelled", departure_id=dep_b, transport_id=trn_b,
                caused_by_message_id=decided["message_id"]), "--causation", decided["message_id"])
    for p in ["DTV", "KMAR", "DJI", "DVO", "IND"]:
        receive(p)

    # --- (c) detention with a Dublin claim --------------------------------------------------
    print("== (c) detention and Dublin claim, case %s" % CASE_C)
    send("POL-AVIM", "detention.imposed", CASE_C, sample("detention.imposed", v_nummer=CASE_C))
    # DJI's medical service records the intake (the findings stay in its medical file).
    send("DJI-MD", "detention.intake.recorded", CASE_C, sample("detention.intake.recorded", v_nummer=CASE_C))
    claim = sample("dublin.claim.status", v_nummer=CASE_C)
    claim_msg = send("IND", "dublin.claim.status", CASE_C, claim, "--version", "2")
    transferred = dict(claim, stage="transferred", transferred_at="2025-07-20T09:00:00+02:00")
    send("IND", "dublin.claim.status", CASE_C, transferred, "--version", "2", "--supersedes", claim_msg["message_id"])
    for p in ["DTV", "DJI", "IND", "RECHTSPRAAK", "KMAR"]:
        receive(p)

    # COA comes back online and catches up on everything.
    receive("COA")
    # A restart while the cases are open: the replay shows it, with the clock of each run.
    stop_broker()
    start_broker()
    receive("COA")
    # The inspectorate has the case it investigates put on legal hold: nothing of it may be
    # shredded while the inspection runs, whatever its retention (A19). The hold is an event of the
    # case's log, appended by the tool while the broker runs; the broker signs it (within its
    # checkpoint interval, at the latest when it stops), so the case's bundle proves it too.
    keten("case", "hold", CASE_A, "--reason", PURPOSE, "--store", store)
    stop_broker()
except BaseException:
    if broker:
        broker.kill()
    raise


# --- the inspector: a bundle per case, verified offline; replays and the quality report ----------
def out(name, *args, expect=(0,)):
    p = keten(*args, expect=expect)
    with open(os.path.join(work, name), "w") as f:
        f.write(p.stdout)
    return p


sign = os.path.join(keys, "broker.sign.public")
outputs = {}
for case in (CASE_A, CASE_B, CASE_C):
    bundle = os.path.join(work, "case-%s.jsonl" % case)
    # --tree: the broker signs only tree checkpoints, so only the v2 bundle carries its signature
    # (each event's inclusion proof against one signed checkpoint).
    keten("log", "export", "--store", store, "--tree", "--case", case, "--out", bundle, "--purpose", PURPOSE)
    outputs["verify " + case] = out("verify-%s.txt" % case, "log", "verify", "--bundle", bundle, "--signing-key",
                                    sign).stdout
    outputs[case] = out("replay-%s.txt" % case, "log", "replay", "--bundle", bundle, "--case", case,
                        "--signing-key", sign).stdout
    outputs["json " + case] = out("replay-%s.json" % case, "log", "replay", "--bundle", bundle, "--case", case,
                                  "--signing-key", sign, "--format", "json").stdout
bundle_a = os.path.join(work, "case-%s.jsonl" % CASE_A)
# What KMAR could know about case (a) just after GZA withdrew the consent (A12).
withdrawn_at = json.loads(outputs["json " + CASE_A])["events"]
withdrawn_at = [e["at"] for e in withdrawn_at if e["contract"] == "consent.withdrawn" and e["event"] == "accepted"][0]
# (A v2 bundle's replay checks each event's proof: it needs the broker's key.)
outputs["DVO as of"] = out("replay-DVO-as-of.txt", "log", "replay", "--bundle", bundle_a, "--case", CASE_A,
                           "--partner", "DVO", "--as-of", withdrawn_at, "--signing-key", sign).stdout
outputs["KMAR"] = out("replay-KMAR.txt", "log", "replay", "--bundle", bundle_a, "--case", CASE_A, "--partner",
                      "KMAR", "--signing-key", sign).stdout
outputs["GEM-0014"] = out("replay-GEM-0014.txt", "log", "replay", "--bundle", bundle_a, "--case", CASE_A,
                          "--partner", "GEM-0014", "--signing-key", sign).stdout
outputs["quality"] = out("quality.txt", "report", "quality", "--store", store, "--contracts", CONTRACTS,
                         "--purpose", PURPOSE).stdout
outputs["verify store"] = out("verify-store.txt", "log", "verify", "--store", store, "--signing-key", sign,
                              "--purpose", PURPOSE).stdout
outputs["store " + CASE_A] = out("replay-store-%s.txt" % CASE_A, "log", "replay", "--store", store, "--case", CASE_A,
                                 "--purpose", PURPOSE).stdout

# An inspector given the broker's payload key by the operator opens the sealed evidence values
# (the read is recorded in the store, the key's file named in the command line).
payload_key = os.path.join(keys, "broker.payload.secret")
for case in (CASE_A, CASE_C):
    outputs["sealed " + case] = out("replay-sealed-%s.txt" % case, "log", "replay", "--store", store, "--case", case,
                                    "--payload-key", payload_key, "--purpose", PURPOSE).stdout
outputs["html " + CASE_A] = out("replay-%s.html" % CASE_A, "log", "replay", "--store", store, "--case", CASE_A,
                                "--format", "html", "--purpose", PURPOSE).stdout
outputs["json store " + CASE_A] = out("replay-store-%s.json" % CASE_A, "log", "replay", "--store", store, "--case",
                                      CASE_A, "--format", "json", "--purpose", PURPOSE).stdout

# --- a payload changed in the store after acceptance: a finding, never evidence -------------------
# The payload table is not tamper-evident, the log is: replay on a store compares each stored
# payload's SHA-256 with the digest the accepted event recorded, and a sealed payload that no
# longer opens is a finding too. With a payload key every payload is sealed under its case's key,
# so a copy of the store has one bit of two sealed payloads changed: the airline's booking and the
# warm handover's status. (A plain payload whose digest no longer matches is the same finding in
# other words: tests/unit/audit/payload_check_test.cpp.)
import sqlite3  # noqa: E402
tampered = os.path.join(work, "tampered.db")
shutil.copy(store, tampered)
events_a = json.loads(outputs["json " + CASE_A])["events"]
booking_id = [e["message_id"] for e in events_a if e["contract"] == "flight.booking.confirmed" and e["event"] == "accepted"][0]
care_id = [e["message_id"] for e in events_a if e["contract"] == "care.handover.status" and e["event"] == "accepted"][0]
db = sqlite3.connect(tampered)
for message_id in (booking_id, care_id):
    sealed = bytearray(db.execute("SELECT payload FROM messages WHERE message_id = ?", (message_id,)).fetchone()[0])
    if b'"confirmed"' in sealed:
        fail("the booking is stored in plain text although the store has a payload key")
    sealed[-20] ^= 0x01  # one bit of the sealed bytes
    db.execute("UPDATE messages SET payload = ? WHERE message_id = ?", (bytes(sealed), message_id))
db.commit()
db.close()
for fmt in ("text", "html", "json"):
    t = keten("log", "replay", "--store", tampered, "--case", CASE_A, "--payload-key", payload_key, "--format", fmt,
              expect=(1,))
    outputs["tampered " + fmt] = t.stdout
    outputs["tampered stderr " + fmt] = t.stderr
    if "waitlisted" in t.stdout:
        fail("tampered (%s): the changed value is shown: %s" % (fmt, [l for l in t.stdout.splitlines() if "waitlisted" in l]))
    if "FINDING" not in t.stderr:
        fail("tampered (%s): no FINDING on standard error: %s" % (fmt, t.stderr))
tampered_checks = [
    ("tampered text", r"FINDING: the sealed stored payload of flight\.booking\.confirmed v1 \(id %s\) does not open with the payload key" % booking_id[:8]),
    ("tampered text", r"FINDING: the sealed stored payload of care\.handover\.status v1 \(id %s\) does not open with the payload key" % care_id[:8]),
    ("tampered text", r"Stored payloads checked against the log: \d+ match, 0 not checked \(sealed or gone\), 2 FINDING\(S\)"),
    ("tampered html", r'<div class="finding"[^>]*>FINDING: the sealed stored payload of flight\.booking\.confirmed v1'),
    ("tampered json", r'"state": "unopenable"'),
    ("tampered json", r'"payload_findings": 2'),
    # the untampered store: every payload matches, nothing is a finding
    ("sealed " + CASE_A, r"stored payload of flight\.booking\.confirmed v1 \(id %s\) matches the log \(sha256 " % booking_id[:8]),
    ("store " + CASE_A, r"Stored payloads checked against the log: \d+ match, \d+ not checked \(sealed or gone\), no finding"),
    ("sealed " + CASE_A, r"stored payload of care\.handover\.status v1 \(id %s\) matches the log" % care_id[:8]),
    ("sealed " + CASE_A, r"Stored payloads checked against the log: \d+ match, 0 not checked \(sealed or gone\), no finding"),
    ("store " + CASE_A, r"stored payload of care\.handover\.status v1 \(id %s\) is sealed: its values are not shown" % care_id[:8]),
]
for source, pattern in tampered_checks:
    if not re.search(pattern, outputs[source]):
        fail("payload check: no line in %s matches %s" % (source, pattern))
print("a payload changed in a store copy: FINDING, not evidence (text, HTML, JSON), exit 1")

# --- a shortcut row of the tree edited: the row named, the events still proven ----------------------
# log_leaves keeps each block's leaf hashes so that a proof need not hash the events around a case's
# own; it only stands for the events. A copy has every stored hash zeroed: replay proves the case's
# events from the events themselves, and names the edited row as a finding (exit 1).
shortcut = os.path.join(work, "shortcut.db")
shutil.copy(store, shortcut)
db = sqlite3.connect(shortcut)
db.execute("DROP TRIGGER log_leaves_no_update")
db.execute("UPDATE log_leaves SET hashes = zeroblob(length(hashes))")
db.commit()
db.close()
t = keten("log", "replay", "--store", shortcut, "--case", CASE_A, expect=(1,))
if not re.search(r"FINDING: log_leaves row first_seq=\d+ \(its level-0 hash for events up to seq \d+ is not the events' own\)"
                 r": a stored shortcut of the log's tree was changed in the store; the case's events were proven without it",
                 t.stderr):
    fail("shortcut row: no FINDING naming the row: %s" % t.stderr)
proven = re.search(r"case events proven: (\d+) of (\d+) events", t.stdout)
intact = re.search(r"case events proven: (\d+) of (\d+) events", outputs["store " + CASE_A])
# (the copy has more events than the replay above: the log_read events of the replays since, not
# signed: a tool does not sign)
if not proven or not intact or proven.group(1) != intact.group(1) or "NOT INTACT" in t.stdout:
    fail("shortcut row: the case's events are not all proven without it: %s (intact: %s)"
         % (proven and proven.group(0), intact and intact.group(0)))
if not re.search(r"FINDING: \d+ stored shortcut row\(s\) of the log's tree were changed in the store", t.stdout) \
        or "  - log_leaves row first_seq=" not in t.stdout:
    fail("shortcut row: the replay's own output does not name the row: %s" % t.stdout)
t = keten("log", "replay", "--store", shortcut, "--case", CASE_A, "--format", "json", expect=(1,))
rows = json.loads(t.stdout).get("damaged_shortcuts", [])
if not rows or not all(r.startswith("log_leaves row first_seq=") for r in rows):
    fail("shortcut row: the JSON replay does not list the row: %s" % rows)
# The case exported from that copy: the bundle's proofs are built without the row and verify
# offline; the row is a finding (exit 1). One event's proof alike.
shortcut_bundle = os.path.join(work, "shortcut-%s.jsonl" % CASE_A)
t = keten("log", "export", "--store", shortcut, "--tree", "--case", CASE_A, "--out", shortcut_bundle, expect=(1,))
if "FINDING: log_leaves row first_seq=" not in t.stderr or "the bundle's proofs were built without it" not in t.stderr:
    fail("shortcut row: export names no FINDING: %s" % t.stderr)
keten("log", "verify", "--bundle", shortcut_bundle, "--signing-key", sign)
t = keten("log", "prove", "--store", shortcut, "--event", "2", expect=(1,))
if "FINDING: log_leaves row first_seq=" not in t.stderr or json.loads(t.stdout)["seq"] != 2:
    fail("shortcut row: prove names no FINDING or writes no proof: %s %s" % (t.stdout, t.stderr))
print("a shortcut row of the tree edited in a store copy: the row named as a FINDING (replay, export, prove), "
      "every event still proven, the exported bundle verifies")

# --- a write-protected copy of the store: replayed and verified, not a byte changed --------------
media = os.path.join(work, "media")
os.makedirs(media)
shutil.copy(store, os.path.join(media, "keten.db"))
os.chmod(os.path.join(media, "keten.db"), 0o444)
os.chmod(media, 0o555)
for d in (work, keys):
    os.chmod(d, 0o755)
os.chmod(sign, 0o644)
as_reader = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
before = {n: (open(os.path.join(media, n), "rb").read(), os.stat(os.path.join(media, n)).st_mtime_ns)
          for n in os.listdir(media)}
ro_store = os.path.join(media, "keten.db")
ro_verify = run(as_reader + [KETEN, "--log-level", "warn", "log", "verify", "--store", ro_store, "--signing-key", sign,
                             "--purpose", PURPOSE])
ro_replay = run(as_reader + [KETEN, "--log-level", "warn", "log", "replay", "--store", ro_store, "--case", CASE_B,
                             "--signing-key", sign, "--purpose", PURPOSE])
after = {n: (open(os.path.join(media, n), "rb").read(), os.stat(os.path.join(media, n)).st_mtime_ns)
         for n in os.listdir(media)}
os.chmod(media, 0o755)
if before != after:
    fail("the write-protected copy changed: %s -> %s" % (sorted(before), sorted(after)))
if "intact:" not in ro_verify.stdout or "NOT recorded" not in ro_verify.stderr:
    fail("write-protected verify: " + ro_verify.stdout + ro_verify.stderr)
if "article64.decided" not in ro_replay.stdout or "NOT recorded" not in ro_replay.stderr:
    fail("write-protected replay: " + ro_replay.stdout[:400] + ro_replay.stderr)
print("write-protected store copy: verified and replayed, unchanged, the reads said to be unrecorded")

# --- A1-A20: the lines that answer each question -------------------------------------------------
A, B, C = CASE_A, CASE_B, CASE_C
HAP = r"health\.action-perspective\.published v1"
T = r'"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[^"]*"'  # a payload time as evidence shows it (its JSON text)
QUESTIONS = [
    ("A1", "fully", [
        (A, r"broker accepted " + HAP + r" \(id \w+\) from GZA for DVO, KMAR"),
        (A, r"DVO acknowledged " + HAP),
        (A, r"KMAR acknowledged " + HAP),
        (A, r"medical fields of " + HAP + r" \(id \w+\) went to DVO \(consent:"),
        (A, r"transport-parties-24h-before-std \(delivered_before\) on " + HAP + r".*: KMAR late; due "),
        # evidence: the validity window (sealed in the log; the bundle says so, the key opens it) and
        # the transport's need of an action perspective, its pickup and latest arrival
        (A, r"broker accepted " + HAP + r" \(id \w+\) from GZA for DVO, KMAR; evidence /valid_from \(sealed\), /valid_until \(sealed\)"),
        ("sealed " + A, r"broker accepted " + HAP + r" \(id \w+\) from GZA for DVO, KMAR; evidence /valid_from = \"2025-03-03T09:12:00\+01:00\" \(sealed, opened\), /valid_until = \"2025-03-13T23:59:00\+01:00\" \(sealed, opened\)"),
        (A, r"broker accepted transport\.ordered v1 \(id \w+\) from DTV for DVO; evidence /action_perspective_required = true, /latest_arrival_at = \"2025-03-12T04:05:00\+01:00\", /pickup_at = \"2025-03-12T01:30:00\+01:00\""),
     ], ""),
    ("A2", "fully", [
        (A, r"broker accepted " + HAP + r" \(id \w+\) from GZA for DVO, KMAR, superseding "),
        (A, r"broker accepted custody\.handover\.recorded v1 \(id \w+\) from KMAR"),
        # evidence: the version the taker acknowledged (sealed: a reference to a medical document)
        ("sealed " + A, r"broker accepted custody\.handover\.recorded v1 \(id \w+\) from KMAR for [^;]*; evidence /action_perspective_version_acknowledged = \{[^}]*\"message_id\":\"%s\"\} \(sealed, opened\)" % hap3["message_id"]),
     ], ""),
    ("A3", "fully", [
        (A, r"planned-48h-before \(delivered_before\) on transfer\.announced v1 .*: COA late; due 2025-03-04T08:30:00\.000Z; still OPEN"),
        (A, r"COA acknowledged transfer\.announced v1"),
        (A, r"planned-48h-before \(delivered_before\) on transfer\.announced v1 .*: COA late; due 2025-03-04T08:30:00\.000Z; met late at "),
     ], ""),
    ("A4", "fully", [
        (A, r"broker accepted care\.handover\.status v1 \(id \w+\) from GZA"),
        (A, r"warm-handover-before-move \(follow_up\) on transfer\.announced v1 .*: GZA late with care\.handover\.status; due 2025-03-06T08:30:00\.000Z; met late at "),
        (A, r"broker accepted care\.handover\.status v1 \(id \w+\) from GZA for [^;]*; evidence /channel = \"zorgmail\", /status = \"received\", /status_at = \"2025-03-05T14:10:00\+01:00\""),
     ], ""),
    ("A5", "fully", [
        (A, r"broker accepted custody\.handover\.recorded v1 \(id \w+\) from DVO"),
        (A, r"broker accepted custody\.handover\.recorded v1 \(id \w+\) from KMAR"),
        (A, r"taker-half-within-15m \(submitted_within\) on custody\.handover\.recorded v1 .*: KMAR late; due 2025-03-12T02:47:00\.000Z"),
        # evidence: the arrival against the order's latest arrival, and the custody time
        (A, r"broker accepted custody\.handover\.recorded v1 \(id \w+\) from DVO for [^;]*; evidence /action_perspective_version_acknowledged \(sealed\), /arrived_at = \"2025-03-12T03:18:00\+01:00\", .*/handed_over_at = \"2025-03-12T03:31:00\+01:00\""),
        (A, r"broker accepted transport\.ordered v1 \(id \w+\) from DTV for DVO; evidence .*/latest_arrival_at = \"2025-03-12T04:05:00\+01:00\""),
     ], ""),
    ("A6", "fully", [
        (A, r"departure\.particulars\.published v1 \(id \w+\) delivered to KMAR \(attempt 1\)"),
        (A, r"KMAR acknowledged departure\.particulars\.published v1"),
        (A, r"particulars-and-transport-24h-before-std \(follow_up\) on departure\.scheduled v1 .*: DTV late with departure\.particulars\.published; due 2025-03-11T06:05:00\.000Z; met late at "),
     ], ""),
    ("A7", "fully", [
        (A, r"broker accepted departure\.particulars\.published v1"),
        (A, r"broker accepted custody\.handover\.recorded v1 \(id \w+\) from DVO"),
        # evidence: what was registered at departure, and what each half of the handover counted
        (A, r"broker accepted departure\.particulars\.published v1 \(id \w+\) from DTV for KMAR; evidence /belongings = \{.*\"item_count\":2,.*\"seal_numbers\":\[\"SEAL-000871\",\"SEAL-000872\"\]"),
        (A, r"custody\.handover\.recorded v1 \(id \w+\) from DVO for [^;]*; evidence .*/belongings_handed_over = \{\"item_count\":2,\"seal_numbers\":\[\"SEAL-000871\",\"SEAL-000872\"\]\}"),
        (A, r"custody\.handover\.recorded v1 \(id \w+\) from KMAR for [^;]*; evidence .*/belongings_handed_over = \{\"item_count\":2,\"seal_numbers\":\[\"SEAL-000871\",\"SEAL-000872\"\]\}"),
     ], ""),
    ("A8", "fully", [
        (A, r"broker accepted removability\.checked v1 \(id \w+\) from IND"),
        (A, r"removability-checked-within-24h-before-std \(follow_up_at\) .*met in time at 2025-03-11T15:45:00\.000Z after all"),
        (A, r"broker accepted removability\.checked v1 \(id \w+\) from IND for [^;]*; evidence /blocking_reasons = \[\], /checked_at = \"2025-03-11T16:45:00\+01:00\", /removable = true"),
     ], ""),
    ("A9", "fully", [
        (B, r"broker accepted article64\.decided v1 \(id \w+\) from IND"),
        (B, r"broker accepted departure\.cancelled v1 \(id \w+\) from DTV"),
        (B, r"broker accepted transport\.cancelled v1 \(id \w+\) from DTV for DVO, KMAR, COA, DJI"),
        (B, r"DVO acknowledged transport\.cancelled v1"),
        (B, r"KMAR acknowledged departure\.cancelled v1"),
        (B, r"COA acknowledged article64\.decided v1"),
        ("json " + B, r'"causation_id": "[0-9a-f-]{36}"'),
     ], ""),
    ("A10", "fully", [
        (C, r"broker accepted dublin\.claim\.status v2 \(id \w+\) from IND for DTV, COA, DJI, KMAR, superseding "),
        (C, r"transfer-reported-by-deadline \(follow_up_at\) on dublin\.claim\.status v2 .*due 2025-07-30T00:00:00\.000Z"),
        # the transfer reported by the status that superseded the acceptance meets it after all
        (C, r"transfer-reported-by-deadline \(follow_up_at\) on dublin\.claim\.status v2 .*met in time at 2025-07-20T07:00:00\.000Z after all"),
        # evidence: the claim's acceptance and deadline, and the transfer's time
        (C, r"broker accepted dublin\.claim\.status v2 \(id \w+\) from IND for DTV, COA, DJI, KMAR; evidence /accepted_at = \"2025-01-29T09:45:00\+01:00\", /transfer_deadline = \"2025-07-29\""),
        (C, r"broker accepted dublin\.claim\.status v2 \(id \w+\) from IND for DTV, COA, DJI, KMAR, superseding \S+; evidence /accepted_at = \"2025-01-29T09:45:00\+01:00\", /transfer_deadline = \"2025-07-29\", /transferred_at = \"2025-07-20T09:00:00\+02:00\""),
     ], ""),
    ("A11", "fully", [
        (C, r"broker accepted detention\.imposed v1 \(id \w+\) from POL-AVIM for DJI, DTV, IND, RECHTSPRAAK, COA"),
        (C, r"DJI acknowledged detention\.imposed v1"),
        (C, r"court-notified-28-days \(delivered_within\) on detention\.imposed v1 .*: RECHTSPRAAK late; due 2025-03-31T15:20:00\.000Z; met late at "),
        (C, r"policy removed /medical_intake_due_by \(medical:no-consent\) from detention\.imposed v1"),
        # evidence: when detention was imposed; the intake's due time (sealed, opened with the key)
        (C, r"broker accepted detention\.imposed v1 \(id \w+\) from POL-AVIM for [^;]*; evidence /imposed_at = \"2025-03-03T16:20:00\+01:00\", /medical_intake_due_by \(sealed\)"),
        ("sealed " + C, r"evidence /imposed_at = \"2025-03-03T16:20:00\+01:00\", /medical_intake_due_by = \"2025-03-04T16:20:00\+01:00\" \(sealed, opened\)"),
        # the intake done, when and where, against that due time
        (C, r"broker accepted detention\.intake\.recorded v1 \(id \w+\) from DJI-MD for DJI, DTV; evidence /intake_done_at = \"2025-03-04T11:05:00\+01:00\", /location_code = \"DC-0007\""),
        (C, r"DJI acknowledged detention\.intake\.recorded v1"),
     ], ""),
    ("A12", "fully", [
        ("DVO as of", r"Case 9990012345, as seen by DVO, as of "),
        ("DVO as of", r"DVO had received \d+ message\(s\) about the case:"),
        ("DVO as of", HAP + r" id \S+ from GZA, delivered [^,]+, acknowledged [^,]+, fields removed by policy: /contact_point"),
        ("DVO as of", HAP + r" id \S+ from GZA, delivered [^,]+, acknowledged [^,]+, payload sha256 "),
        # evidence in the received list, only of fields the partner received
        ("KMAR", r"departure\.particulars\.published v1 id \S+ from DTV, delivered .*; evidence /belongings = \{.*\"seal_numbers\":\[\"SEAL-000871\",\"SEAL-000872\"\]"),
     ], ""),
    ("A13", "fully", [
        (A, r"medical fields of " + HAP + r" \(id \w+\) went to DVO \(consent:"),
        (A, r"broker accepted consent\.withdrawn v1"),
        (A, r"policy removed /contact_point \(medical:no-consent\).* from " + HAP + r" \(id \w+\) for DVO"),
        (A, r"policy removed /warm_handover_required \(medical:no-consent\) from transfer\.announced v1 \(id \w+\) for COA"),
     ], ""),
    ("A14", "fully", [
        (A, r"broker rejected transport\.ordered v1 \(id \w+\) from KMAR: not_owner, partner KMAR may not produce transport\.ordered \(owner: DTV\)"),
        (A, r"broker accepted dataitem\.dispute\.raised v1 \(id \w+\) from KMAR for DTV"),
        (A, r"broker accepted dataitem\.dispute\.resolved v1 \(id \w+\) from DTV for KMAR"),
     ], ""),
    ("A15", "fully", [
        ("quality", r"IND / returncase\.opened\n(.*\n){1,4}  source delay \(recorded - occurred\): p50 20m"),
        ("quality", r"DTV / transfer\.announced\n(.*\n){1,4}  source delay \(recorded - occurred\): p50 1h"),
        ("json " + A, r'"recorded_at"'),
     ], ""),
    ("A16", "fully", [
        (A, r"DTV resubmitted departure\.scheduled v1 \(id \w+\); the first receipt was returned"),
        (A, r"GEM-0014 refused municipality\.departure\.notified v1 \(id \w+\): cannot process"),
        (A, r"municipality\.departure\.notified v1 \(id \w+\) delivered again to GEM-0014 \(attempt 2\)"),
        (A, r"broker gave up delivering municipality\.departure\.notified v1 \(id \w+\) to GEM-0014"),
        (A, r'alert \{"cases":\["9990012345"\],"kind":"dead_letters","subject":"GEM-0014"'),
        (A, r"operator re-sent municipality\.departure\.notified v1 \(id \w+\) as [0-9a-f-]{36}"),
        ("json " + A, r'"event": "resent"'),
        ("json " + A, r'"user": "[^"]+ \(uid \d+\)"'),
        (A, r"municipality\.departure\.notified v1 \(id \w+\) delivered to GEM-0014 \(attempt 1\)"),
        (A, r'alert \{"cases":\["9990012345"\],"kind":"oldest_undelivered","subject":"GEM-0014"'),
        (A, r"operator re-sent municipality\.departure\.notified v1 \(id \w+\) as [0-9a-f-]{36}"),
        (A, r"origin resend:[0-9a-f-]{36}"),
        (A, r"GEM-0014 acknowledged municipality\.departure\.notified v1"),
     ], ""),
    ("A17", "fully", [
        (A, r"broker accepted flight\.booking\.confirmed v1 \(id \w+\) from AIR-ZZ for DTV, KMAR, origin file:AIR-ZZ/bookings-2025-03-10\.csv"),
        ("GEM-0014", r"GEM-0014 had received 2 message\(s\) about the case:"),
        # the basis each delivery to the municipality went under, as the contract declared it
        (A, r"municipality\.departure\.notified v1 \(id \w+\) queued for GEM-0014 \(delivery \d+\), under Vw 2000 art\. 107 lid 4 with the return-cooperation agreement DT&V-GEM-0014 \(NCV-2024-014\)"),
        ("json " + A, r'"basis": "Vw 2000 art\. 107 lid 4 with the return-cooperation agreement DT&V-GEM-0014 \(NCV-2024-014\) \[proposal\]"'),
     ], ""),
    ("A18", "fully", [
        ("quality", r"Data-quality report"),
        ("quality", r"DTV / departure\.scheduled\n(.*\n){1,6}  timeliness: [0-9.]+%; norm violations \d+"),
     ], ""),
    ("A19", "fully", [
        ("verify " + A, r"intact: case 9990012345, \d+ events, each proven in the tree of \d+ events signed by " + VKEY),
        ("verify store", r"intact: \d+ events, root [A-Za-z0-9+/]{43}=\n\d+ checkpoint\(s\), signed by " + VKEY +
         r", the latest covers seq 1\.\.\d+"),
        (A, r"#1 +started +broker started \(config \w+, contracts \w+; clock [\w-]+, (synchronized|unsynchronized|unknown) per "),
        (A, r"started +broker started .*\n(.*\n)*.*started +broker started "),
        ("store " + A, r"log read with 'keten log export .*' by .* for inspection 2025-17 \(scenario\)"),
        # retention: the period and its basis in force for each message, and the inspection's legal hold
        (A, r"broker accepted departure\.scheduled v1 \(id \w+\) from DTV for [^;]*;.* retention P10Y \(Archiefwet 1995, the producer's selectielijst \[proposal\]\)"),
        ("json " + A, r'"retention": "P10Y"'),
        (A, r"hold +legal hold on case 9990012345 by .* \(uid \d+\): inspection 2025-17 \(scenario\)"),
     ], ""),
    ("A20", "fully", [
        (A, r"broker accepted person\.informed v1 \(id \w+\) from DTV for IND, COA, DJI, KMAR"),
        (A, r"recorded-within-a-day \(submitted_within\) on person\.informed v1 .*: DTV late; due 2025-03-10T09:30:00\.000Z"),
        (A, r"broker accepted person\.informed v1 \(id \w+\) from DTV for IND, COA, DJI, KMAR; evidence /about_message_id = \"%s\", /channel = \"in-person\", /informed_at = \"2025-03-09T10:30:00\+01:00\", /informed_party = \"person\", /interpreter_used = true, /language = \"fr\", /subject = \"departure-date\"" % departure["message_id"]),
     ], ""),
]

# A partner's received list never shows the evidence of a field policy removed for it.
for source in ("DVO as of", "KMAR", "GEM-0014"):
    for line in outputs[source].splitlines():
        m = re.search(r"fields removed by policy: ([^;]*?), payload sha256 .*; evidence (.*)$", line)
        if m:
            for removed in m.group(1).split(", "):
                if re.search(re.escape(removed) + r"(/| =| \()", m.group(2)):
                    fail("%s: evidence of %s, which policy removed for the partner: %s" % (source, removed, line))

counts = {"fully": 0, "partly": 0, "not": 0}
for question, verdict, patterns, missing in QUESTIONS:
    for source, pattern in patterns:
        if not re.search(pattern, outputs[source]):
            fail("%s: no line in %s matches %s" % (question, source, pattern))
    counts[verdict] += 1
    label = "note" if verdict == "fully" else "missing"
    print("%-4s %-6s%s" % (question, verdict, (" (%s: %s)" % (label, missing)) if missing else ""))
print("answered fully %(fully)d, partly %(partly)d, not %(not)d of 20" % counts)
if failures:
    print("%d check(s) failed; outputs in %s" % (len(failures), work))
    sys.exit(1)
if not keep:
    shutil.rmtree(work, ignore_errors=True)
print("ok: inspector scenario")
