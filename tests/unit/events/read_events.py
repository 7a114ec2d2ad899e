#!/usr/bin/python3
"""Reads Keten's encoded handover-log events as docs/transparency-log.md, "Typed events", says,
with nothing of Keten's and no FlatBuffers library: struct and hashlib only.

    read_events.py FILE...

Each FILE holds one event (tests/fuzz/corpus/fuzz_event/<kind>.kev, written by
make_event_seeds from schema-4 rows of that kind: message m-1, departure.scheduled v1, case
9990012345, DTV to KMAR, delivery 4, payload digest 32 x 0xaa). Checks that the kind read from
the bytes is the file's name and that the common fields and some records read as written;
delivered.kev is the page's worked example and must have the leaf hash the page gives. Prints one line per file and "ok", or
"rejected: <reason>" and exits 1.
"""
import hashlib
import os
import struct
import sys

KINDS = ["started", "received", "rejected", "accepted", "duplicate", "routed", "delivered",
         "redelivered", "acknowledged", "nacked", "dead_lettered", "redacted", "policy_allowed",
         "norm_violated", "alert", "resent", "log_read", "undelivered",
         "shredded", "hold", "release", "processed"]


class Rejected(Exception):
    pass


class Table:
    """A table at position t of buffer b (page, "Reading the bytes", steps 2-6)."""

    def __init__(self, b, t):
        if t + 4 > len(b):
            raise Rejected(f"table at {t} outside the buffer")
        self.b, self.t = b, t
        self.vt = t - struct.unpack_from("<i", b, t)[0]
        if self.vt < 0 or self.vt + 4 > len(b):
            raise Rejected(f"vtable of the table at {t} outside the buffer")
        self.vsize, self.tsize = struct.unpack_from("<HH", b, self.vt)

    def pos(self, slot):
        entry = 4 + 2 * slot
        if entry + 2 > self.vsize:
            return None
        off = struct.unpack_from("<H", self.b, self.vt + entry)[0]
        return self.t + off if off else None

    def scalar(self, slot, fmt):
        p = self.pos(slot)
        return struct.unpack_from("<" + fmt, self.b, p)[0] if p is not None else 0

    def target(self, slot):
        p = self.pos(slot)
        return None if p is None else p + struct.unpack_from("<I", self.b, p)[0]

    def string(self, slot):
        p = self.target(slot)
        if p is None:
            return ""
        n = struct.unpack_from("<I", self.b, p)[0]
        if p + 4 + n > len(self.b):
            raise Rejected(f"string at {p} runs past the end")
        return self.b[p + 4:p + 4 + n].decode("utf-8")

    def raw(self, slot, size):
        p = self.pos(slot)
        return None if p is None else self.b[p:p + size]

    def items(self, slot):
        p = self.target(slot)
        if p is None:
            return []
        n = struct.unpack_from("<I", self.b, p)[0]
        return [p + 4 + 4 * i + struct.unpack_from("<I", self.b, p + 4 + 4 * i)[0] for i in range(n)]

    def strings(self, slot):
        out = []
        for p in self.items(slot):
            n = struct.unpack_from("<I", self.b, p)[0]
            out.append(self.b[p + 4:p + 4 + n].decode("utf-8"))
        return out

    def table(self, slot):
        p = self.target(slot)
        return None if p is None else Table(self.b, p)


def read_event(b):
    if len(b) < 8:
        raise Rejected("shorter than 8 bytes")
    if b[4:8] != b"KEV1":
        raise Rejected("file identifier is not KEV1")
    root = Table(b, struct.unpack_from("<I", b, 0)[0])
    kind = root.scalar(13, "B")
    if not 1 <= kind <= len(KINDS):
        raise Rejected(f"kind {kind} is no known kind")
    record = root.table(14)
    if record is None:
        raise Rejected(f"kind {KINDS[kind - 1]} carries no record")
    return {
        "kind": KINDS[kind - 1], "at": root.scalar(0, "q"), "message_id": root.string(1),
        "contract": root.string(2), "version": root.scalar(3, "I"), "case_ref": root.string(4),
        "sender": root.string(5), "recipient": root.string(6), "delivery_id": root.scalar(7, "q"),
        "payload_digest": root.raw(8, 32), "trace_id": root.raw(9, 16), "span_id": root.raw(10, 8),
        "record": record,
    }


def expect(what, got, want):
    if got != want:
        raise Rejected(f"{what}: read {got!r}, expected {want!r}")


def check(path):
    data = open(path, "rb").read()
    name = os.path.basename(path)[:-len(".kev")]
    e = read_event(data)
    leaf = hashlib.sha256(b"\x00" + data).hexdigest()
    r = e["record"]
    if name in KINDS:
        expect("kind", e["kind"], name)
        for field, want in [("at", 1741000000000), ("message_id", "m-1"), ("contract", "departure.scheduled"),
                            ("version", 1), ("case_ref", "9990012345"), ("sender", "DTV"), ("recipient", "KMAR"),
                            ("delivery_id", 4), ("payload_digest", b"\xaa" * 32), ("trace_id", None)]:
            expect(field, e[field], want)
        if name == "delivered":  # the page's worked example
            expect("leaf hash", leaf, "02f2b3e648c4935b66332146f8fd8cec8bb4c683750052e0e6f933b9c90e6566")
            expect("attempt", r.scalar(0, "I"), 1)
        if name == "received":
            expect("bytes", r.scalar(0, "Q"), 120)
        if name == "accepted":
            expect("recipients", r.strings(0), ["KMAR", "DVO"])
            expect("occurred_at", r.scalar(4, "q"), 1740999995000)
            expect("skipped partner", Table(data, r.items(7)[0]).string(0), "COA")
        if name == "rejected":
            expect("code", r.scalar(0, "B"), 8)  # schema_violation
            expect("error pointer", Table(data, r.items(2)[0]).string(0), "/std")
        if name == "norm_violated":
            expect("norm kind", r.scalar(1, "B"), 3)  # follow_up
            expect("was_open", r.scalar(7, "B"), 1)
        if name == "alert":
            expect("value", r.scalar(2, "d"), 1250.0)
        if name == "processed":
            expect("outcome", r.scalar(0, "B"), 2)  # refused
            expect("reason", r.string(1), "case unknown here")
            expect("acknowledged_at", r.scalar(2, "q"), 1740999999000)
        if name == "duplicate":
            expect("first_payload_digest", r.raw(0, 32), b"\xaa" * 32)
    elif name == "trace":
        expect("trace_id", e["trace_id"].hex(), "4bf92f3577b34da6a3ce929d0e0e4736")
        expect("span_id", e["span_id"].hex(), "00f067aa0ba902b7")
    print(f"{name}: {e['kind']} leaf {leaf[:16]}...")


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    try:
        for path in argv[1:]:
            check(path)
    except Rejected as e:
        print(f"rejected: {path}: {e}")
        return 1
    print(f"ok: {len(argv) - 1} events read")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
