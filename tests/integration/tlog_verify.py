#!/usr/bin/python3
"""An independent checker of Keten's transparency-log evidence, written from
docs/transparency-log.md alone: hashlib for SHA-256, PyNaCl for Ed25519, nothing of Keten's.

    tlog_verify.py CHECKPOINT VKEY PROOFS
    tlog_verify.py --case-bundle BUNDLE VKEY
    tlog_verify.py --receipt RECEIPT_FILE PUBLIC_KEY_FILE

CHECKPOINT is a signed note (the latest tree head), VKEY a file whose first line is the verifier
key, PROOFS the JSON of docs/transparency-log.md §8. BUNDLE is a v2 case bundle as
docs/handover-log-format.md ("Case bundles") defines it, checked from that page alone: the
checkpoint's signature, and each event's case and inclusion proof. RECEIPT_FILE is a receipt file
(docs/handover-log-format.md, "Receipt files"), checked against the broker's Ed25519 public key
(64 hex characters on the first line of PUBLIC_KEY_FILE). Prints "ok: ..." and exits 0,
or "rejected: <reason>" and exits 1; exits 2 on a usage error.
"""
import base64
import binascii
import hashlib
import json
import sys

import nacl.exceptions
import nacl.signing


class Rejected(Exception):
    pass


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(entry):
    return sha256(b"\x00" + entry)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def b64(text, what):
    """Strict base64 (§6): the decoding must re-encode to exactly the same text."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise Rejected(f"{what}: bad base64")
    if base64.b64encode(data).decode() != text:
        raise Rejected(f"{what}: bad base64 (not the canonical spelling)")
    return data


def hash32(text, what):
    data = b64(text, what)
    if len(data) != 32:
        raise Rejected(f"{what}: wrong hash length {len(data)}")
    return data


def largest_power_of_two_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    """MTH over leaf hashes (§1)."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = largest_power_of_two_below(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


# --- keys and signed notes (§6) ---------------------------------------------------------------

def key_id(name, public_key):
    return sha256(name.encode() + b"\x0a\x01" + public_key)[:4]


def is_valid_name(name):
    return name != "" and "+" not in name and not any(ch.isspace() for ch in name)


def parse_vkey(text):
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise Rejected("verifier key: not name+id+key")
    name, id_hex, key_b64 = parts
    if not is_valid_name(name):
        raise Rejected("verifier key: bad key name")
    key = b64(key_b64, "verifier key")
    if len(key) != 33 or key[0] != 0x01:
        raise Rejected("verifier key: not an Ed25519 key")
    public_key = key[1:]
    if key_id(name, public_key).hex() != id_hex:
        raise Rejected("verifier key: key id does not match name and key")
    return name, public_key


def open_note(note, name, public_key):
    """The verified text of a signed note, or Rejected."""
    try:
        decoded = note.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected("signed note: not valid UTF-8")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in decoded):
        raise Rejected("signed note: a control character")
    split = note.rfind(b"\n\n")
    if split < 0:
        raise Rejected("signed note: missing blank line")
    text, block = note[: split + 1], note[split + 2:]
    if not block or not block.endswith(b"\n"):
        raise Rejected("signed note: no signature lines, or the last does not end in a newline")
    want_id = key_id(name, public_key)
    verifier = nacl.signing.VerifyKey(public_key)
    verified = False
    seen = []
    lines = block[:-1].split(b"\n")
    if len(lines) > 32:
        raise Rejected("signed note: more than 32 signature lines")
    for line in lines:
        prefix = "\u2014 ".encode()
        if not line.startswith(prefix):
            raise Rejected("signed note: a signature line does not start with an em dash")
        sig_name, sep, sig_b64 = line[len(prefix):].decode().partition(" ")
        if not sep or not is_valid_name(sig_name):
            raise Rejected("signed note: malformed signature line")
        sig = b64(sig_b64, "signature")
        if len(sig) < 5:
            raise Rejected("signed note: signature too short")
        if sig_name != name or sig[:4] != want_id:
            seen.append(f"{sig_name} ({sig[:4].hex()})")
            continue
        try:
            verifier.verify(text, sig[4:])
        except (nacl.exceptions.BadSignatureError, ValueError):
            raise Rejected(f"bad signature by {name}")
        verified = True
    if not verified:
        raise Rejected(f"unknown key: no signature by {name} ({want_id.hex()}); seen: {', '.join(seen)}")
    return text


def parse_checkpoint(text, origin):
    """(size, root) from checkpoint text (§5)."""
    if not text.endswith(b"\n"):
        raise Rejected("checkpoint: no final newline")
    lines = text[:-1].decode().split("\n")
    if len(lines) < 3:
        raise Rejected("checkpoint: fewer than three lines")
    if lines[0] == "":
        raise Rejected("checkpoint: missing origin")
    if lines[0] != origin:
        raise Rejected(f"checkpoint: origin {lines[0]!r} is not the key's name {origin!r}")
    size_text = lines[1]
    if not size_text.isascii() or not size_text.isdigit() or (len(size_text) > 1 and size_text[0] == "0"):
        raise Rejected(f"checkpoint: tree size {size_text!r} is not decimal without leading zeros")
    size = int(size_text)
    if size >= 2**64:
        raise Rejected("checkpoint: tree size above 2^64 - 1")
    root = hash32(lines[2], "checkpoint root hash")
    if any(line == "" for line in lines[3:]):
        raise Rejected("checkpoint: empty extension line")
    return size, root


def open_checkpoint(note, name, public_key):
    return parse_checkpoint(open_note(note, name, public_key), name)


# --- proofs (§3, §4) --------------------------------------------------------------------------

def inclusion_path_length(i, n):
    length, lo, hi = 0, 0, n
    while hi - lo > 1:
        k = largest_power_of_two_below(hi - lo)
        if i < lo + k:
            hi = lo + k
        else:
            lo += k
        length += 1
    return length


def root_from_path(i, n, leaf, proof):
    """The root an inclusion proof leads to (RFC 9162 2.1.3.2 without the final comparison)."""
    if i >= n:
        raise Rejected(f"inclusion: index {i} not below size {n}")
    if len(proof) != inclusion_path_length(i, n):
        raise Rejected(f"inclusion of {i}: wrong proof length {len(proof)}")
    fn, sn, r = i, n - 1, leaf
    for p in proof:
        if sn == 0:
            raise Rejected(f"inclusion of {i}: proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Rejected(f"inclusion of {i} in {n}: the proof ends below the root")
    return r


def verify_inclusion(i, n, leaf, proof, root):
    if root_from_path(i, n, leaf, proof) != root:
        raise Rejected(f"inclusion of {i} in {n}: the proof does not lead to the root")


def verify_consistency(m, n, root_m, root_n, proof):
    if m == 0:
        raise Rejected("consistency: from the empty tree")
    if m > n:
        raise Rejected(f"consistency: size {m} above {n}")
    if m == n:
        if proof or root_m != root_n:
            raise Rejected(f"consistency {m} to {n}: equal sizes need an empty proof and equal roots")
        return
    if not proof:
        raise Rejected(f"consistency {m} to {n}: empty proof")
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, root_m)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Rejected(f"consistency {m} to {n}: proof too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != root_m or sr != root_n:
        raise Rejected(f"consistency {m} to {n}: the proof does not lead from the old root to the new one")


# --- the evidence -----------------------------------------------------------------------------

def verify(checkpoint_note, vkey_text, proofs):
    name, public_key = parse_vkey(vkey_text)
    size, root = open_checkpoint(checkpoint_note, name, public_key)

    older = []
    for k, note in enumerate(proofs["checkpoints"]):
        try:
            older.append(open_checkpoint(note.encode(), name, public_key))
        except Rejected as e:
            raise Rejected(f"earlier checkpoint {k}: {e}")
    consistency = {(c["from"], c["to"]): [hash32(h, "consistency proof hash") for h in c["proof"]]
                   for c in proofs["consistency"]}
    for m, root_m in older:
        if (m, size) not in consistency:
            raise Rejected(f"no consistency proof from the earlier checkpoint of size {m} to {size}")
        verify_consistency(m, size, root_m, root, consistency[(m, size)])

    leaves = [leaf_hash(b64(entry, "leaf")) for entry in proofs["leaves"]]
    if len(leaves) != size:
        raise Rejected(f"the checkpoint says {size} entries, the evidence holds {len(leaves)}")
    if mth(leaves) != root:
        raise Rejected("the leaves do not give the checkpoint's root")

    for p in proofs["inclusion"]:
        i, n = p["index"], p["size"]
        if n != size:
            raise Rejected(f"inclusion proof of {i} for size {n}, the checkpoint is of size {size}")
        verify_inclusion(i, n, leaves[i], [hash32(h, "inclusion proof hash") for h in p["proof"]], root)

    for m, root_m in older:
        if mth(leaves[:m]) != root_m:
            raise Rejected(f"the earlier checkpoint of size {m} is not the tree of the first {m} leaves")
    return (f"ok: {name} size {size}, {len(proofs['inclusion'])} inclusion proofs, "
            f"{len(older)} earlier checkpoints consistent")


# --- v2 case bundles (docs/handover-log-format.md, "Case bundles") -------------------------------

KIND_STARTED = 1  # the `detail` union's member for a broker start (handover-log-format.md §1)


def event_kind(data):
    """The kind of an event's bytes: the type byte of its `detail` union, slot 13 of the root
    table (0 when absent); Rejected when a position is outside."""
    if len(data) < 8 or data[4:8] != b"KEV1":
        raise Rejected("event: not an event (no KEV1 identifier)")

    def u(p, n):
        if p < 0 or p + n > len(data):
            raise Rejected("event: a position outside the bytes")
        return int.from_bytes(data[p:p + n], "little")

    t = u(0, 4)
    s = u(t, 4)
    s = s - (1 << 32) if s >= 1 << 31 else s
    vt = t - s
    slot = 13
    if 4 + 2 * slot + 2 > u(vt, 2):
        return 0
    off = u(vt + 4 + 2 * slot, 2)
    return 0 if off == 0 else u(t + off, 1)


def event_case_ref(data):
    """The case_ref (slot 4 of the root table) of an event's bytes, read as
    docs/transparency-log.md §10 "Reading the bytes" says; Rejected when a position is outside."""
    def u32(p):
        if p < 0 or p + 4 > len(data):
            raise Rejected("event: a position outside the bytes")
        return int.from_bytes(data[p:p + 4], "little")

    def u16(p):
        if p < 0 or p + 2 > len(data):
            raise Rejected("event: a position outside the bytes")
        return int.from_bytes(data[p:p + 2], "little")

    if len(data) < 8 or data[4:8] != b"KEV1":
        raise Rejected("event: not an event (no KEV1 identifier)")
    t = u32(0)
    s = u32(t)
    s = s - (1 << 32) if s >= 1 << 31 else s
    vt = t - s
    vt_size = u16(vt)
    slot = 4
    if 4 + 2 * slot + 2 > vt_size:
        return ""
    off = u16(vt + 4 + 2 * slot)
    if off == 0:
        return ""
    f = t + off
    p = f + u32(f)
    n = u32(p)
    if p + 4 + n > len(data):
        raise Rejected("event: a string runs past the end")
    return data[p + 4:p + 4 + n].decode("utf-8", errors="replace")


def verify_case_bundle(text, vkey_text):
    name, public_key = parse_vkey(vkey_text)
    if not text.endswith(b"\n"):
        raise Rejected("the bundle does not end in a newline")
    header, checkpoints, hashes, events, end = None, [], None, [], None
    for number, raw in enumerate(text[:-1].split(b"\n"), start=1):
        try:
            line = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Rejected(f"line {number}: not a JSON object")
        if not isinstance(line, dict) or not isinstance(line.get("type"), str):
            raise Rejected(f"line {number}: not a JSON object with a type")
        kind = line["type"]
        if end is not None:
            raise Rejected(f"line {number}: text after the end line")
        if header is None:
            if kind != "header" or line.get("format") != "keten-log-bundle" or line.get("version") != 2:
                raise Rejected(f"line {number}: not a version 2 keten-log-bundle header")
            if line.get("scope") != "case":
                raise Rejected("not a case bundle")
            header = line
        elif kind == "checkpoint":
            checkpoints.append(line["note"].encode())
        elif kind == "hashes":
            table = b64(line["hashes"], "hashes")
            if len(table) % 32:
                raise Rejected(f"line {number}: the hash table is not whole 32-byte hashes")
            hashes = [table[k:k + 32] for k in range(0, len(table), 32)]
        elif kind == "event":
            events.append((number, line))
        elif kind == "end":
            end = line
        else:
            raise Rejected(f"line {number}: unknown line type {kind!r}")
    if header is None:
        raise Rejected("the bundle is empty")
    if end is None:
        raise Rejected("the bundle stops before its end line")
    if len(checkpoints) != 1:
        raise Rejected(f"a case bundle holds one checkpoint, this one {len(checkpoints)}")
    if hashes is None:
        raise Rejected("no hashes line")
    try:
        size, root = open_checkpoint(checkpoints[0], name, public_key)
    except Rejected as e:
        raise Rejected(f"checkpoint: {e}")
    if size != header["tree_size"]:
        raise Rejected(f"the header says a tree of {header['tree_size']}, the checkpoint signs {size}")
    case = header["case"]
    previous = 0
    for number, line in events:
        seq = line["seq"]
        if not isinstance(seq, int) or seq <= previous:
            raise Rejected(f"line {number}: the seqs must ascend")
        previous = seq
        if seq > size:
            raise Rejected(f"event seq {seq} is outside the signed tree of {size}")
        data = b64(line["event"], f"event seq {seq}")
        ref = event_case_ref(data)
        if ref != case and not (ref == "" and event_kind(data) == KIND_STARTED):
            raise Rejected(f"event seq {seq} is of case {ref!r}, not of {case}")
        proof = []
        for k in line["proof"]:
            if not isinstance(k, int) or k < 0 or k >= len(hashes):
                raise Rejected(f"event seq {seq}: its proof names hash #{k}, the bundle has {len(hashes)}")
            proof.append(hashes[k])
        try:
            verify_inclusion(seq - 1, size, leaf_hash(data), proof, root)
        except Rejected as e:
            raise Rejected(f"event seq {seq}: {e}")
    if not (header["events"] == end["events"] == len(events)):
        raise Rejected(f"the header says {header['events']} events, the end line {end['events']}, "
                       f"the bundle holds {len(events)}")
    return f"ok: case {case}, {len(events)} events proven in the tree of {size} events signed by {name}"


def text(data):
    return len(data).to_bytes(4, "big") + data


def integer(value):
    return value.to_bytes(8, "big", signed=True)


def receipt_signed_bytes(r):
    """docs/handover-log-format.md 5: what a receipt's leaf (version 2) or signature (version 1) covers."""
    return (text(b"keten.receipt.v1") + text(r["message_id"].encode()) + text(r["payload_digest"].encode())
            + text(r["status"].encode()) + integer(r["log_seq"]) + integer(r["accepted_at"])
            + text(r["code"].encode()))


def verify_receipt_file(data, public_key_hex):
    """A receipt file (docs/handover-log-format.md, "Receipt files") against the broker's Ed25519
    public key: version 1 signs the receipt alone, version 2 the root of the tree of a commit's
    receipts, to which the file's path must lead from the receipt's leaf; in version 3 the
    receipt's checkpoint note is signed by the key and names that root in a keten-receipts line."""
    r = json.loads(data)
    if r.get("format") != "keten-receipt":
        raise Rejected('not a receipt file ("format" is not "keten-receipt")')
    signed = receipt_signed_bytes(r)
    if r["version"] in (2, 3):
        count, index = r["signed_count"], r["signed_index"]
        path = binascii.unhexlify(r["signed_path"])
        if count < 1 or len(path) % 32:
            raise Rejected(f"version {r['version']}: signed_count below 1, or a path that is not whole 32-byte hashes")
        proof = [path[k:k + 32] for k in range(0, len(path), 32)]
        root = root_from_path(index, count, leaf_hash(signed), proof)
        how = f"as leaf {index} of {count}"
    if r["version"] == 1:
        message, how = signed, "alone (version 1)"
    elif r["version"] == 2:
        message = text(b"keten.receipts.v2") + integer(count) + text(root)
    elif r["version"] == 3:
        if r["signature"] != "":
            raise Rejected("version 3: a signature of its own")
        note = r["checkpoint"].encode()
        origin = note.split(b"\n", 1)[0].decode()
        verified = open_note(note, origin, binascii.unhexlify(public_key_hex))
        parse_checkpoint(verified, origin)
        lines = verified[:-1].decode().split("\n")
        line = f"keten-receipts {count} {base64.b64encode(root).decode()}"
        if line not in lines[3:]:
            raise Rejected(f"receipt {r['message_id']}: its checkpoint names no tree of {count} receipts "
                           "with the root its path leads to")
        return f"ok: receipt {r['message_id']} ({r['status']}, seq {r['log_seq']}) signed {how} by its checkpoint"
    else:
        raise Rejected(f"unknown receipt file version {r['version']}")
    try:
        nacl.signing.VerifyKey(binascii.unhexlify(public_key_hex)).verify(message, binascii.unhexlify(r["signature"]))
    except nacl.exceptions.BadSignatureError:
        raise Rejected(f"receipt {r['message_id']}: bad signature") from None
    return f"ok: receipt {r['message_id']} ({r['status']}, seq {r['log_seq']}) signed {how}"


def check_file(verify_file, path, key_path):
    """verify_file(file bytes, the key file's first line) on the two files; prints its verdict."""
    with open(path, "rb") as f:
        data = f.read()
    with open(key_path, encoding="utf-8") as f:
        key_line = f.readline().strip()
    try:
        print(verify_file(data, key_line))
        return 0
    except (Rejected, KeyError, TypeError, ValueError, binascii.Error) as e:
        print(f"rejected: {e}" if isinstance(e, Rejected) else f"rejected: a field is missing or malformed: {e}")
        return 1


def main(argv):
    modes = {"--receipt": verify_receipt_file, "--case-bundle": verify_case_bundle}
    if len(argv) == 4 and argv[1] in modes:
        return check_file(modes[argv[1]], argv[2], argv[3])
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        checkpoint_note = f.read()
    with open(argv[2], encoding="utf-8") as f:
        vkey_text = f.readline().strip()
    with open(argv[3], encoding="utf-8") as f:
        proofs = json.load(f)
    try:
        print(verify(checkpoint_note, vkey_text, proofs))
        return 0
    except Rejected as e:
        print(f"rejected: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
