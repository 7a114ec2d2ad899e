#!/usr/bin/python3
"""A Keten client written from docs/protocol.md alone, in Python (python3-zmq, python3-flatbuffers).

It starts the real `keten serve`, submits a valid and an invalid message as ALPHA, receives and
acknowledges the delivery as BRAVO, and stops the broker. Exits non-zero on the first failed check.
Usage: python_client.py KETEN_BINARY GENERATED_PYTHON_DIR CONTRACTS_DIR
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import flatbuffers
import zmq

keten, pydir, contracts_dir = sys.argv[1:4]
sys.path.insert(0, pydir)
from keten.wire import (Ack, Body, Credit, Deliver, Frame, Header, Receipt,  # noqa: E402
                        ReceiptStatus, Submit, ErrorCode)

checks = {"passed": 0, "failed": 0}


def check(condition, what):
    if condition:
        checks["passed"] += 1
    else:
        checks["failed"] += 1
        print("FAILED:", what)


def finish(builder, body_type, body):
    Frame.FrameStart(builder)
    Frame.FrameAddBodyType(builder, body_type)
    Frame.FrameAddBody(builder, body)
    builder.Finish(Frame.FrameEnd(builder), file_identifier=b"KTN1")
    return bytes(builder.Output())


def submit_frame(message_id, contract, version, case_ref, payload):
    b = flatbuffers.Builder(256)
    mid, con, case = b.CreateString(message_id), b.CreateString(contract), b.CreateString(case_ref)
    data = b.CreateByteVector(payload.encode())
    Header.HeaderStart(b)
    Header.HeaderAddMessageId(b, mid)
    Header.HeaderAddContract(b, con)
    Header.HeaderAddVersion(b, version)
    Header.HeaderAddCaseRef(b, case)
    Header.HeaderAddOccurredAt(b, int(time.time() * 1000) - 60000)
    header = Header.HeaderEnd(b)
    Submit.SubmitStart(b)
    Submit.SubmitAddHeader(b, header)
    Submit.SubmitAddPayload(b, data)
    return finish(b, Body.Body.Submit, Submit.SubmitEnd(b))


def small_frame(kind, value):
    b = flatbuffers.Builder(64)
    if kind == "credit":
        Credit.CreditStart(b)
        Credit.CreditAddCredit(b, value)
        return finish(b, Body.Body.Credit, Credit.CreditEnd(b))
    Ack.AckStart(b)
    Ack.AckAddDeliveryId(b, value)
    return finish(b, Body.Body.Ack, Ack.AckEnd(b))


def read_frame(sock, timeout_ms=5000):
    if not sock.poll(timeout_ms):
        return None
    data = sock.recv()
    check(Frame.Frame.FrameBufferHasIdentifier(data, 0), "frame carries the KTN1 identifier")
    return Frame.Frame.GetRootAs(data, 0)


def submit_and_wait(sock, frame_bytes, message_id, resend_after=2.0, resend_max=8.0, timeout=30.0):
    """Sends a Submit and returns the first Receipt naming message_id (docs/protocol.md, "Resending a
    Submit"): the same bytes again on the same socket while none comes, the wait doubling up to
    resend_max; a receipt for any copy answers. None after `timeout` seconds."""
    start = time.monotonic()
    wait = resend_after
    next_copy = start + wait
    sock.send(frame_bytes)
    while True:
        now = time.monotonic()
        if now >= start + timeout:
            return None
        if now >= next_copy:
            sock.send(frame_bytes)
            wait = min(wait * 2, max(resend_max, resend_after))
            next_copy = now + wait
        until = min(next_copy, start + timeout)
        frame = read_frame(sock, max(1, int((until - time.monotonic()) * 1000)))
        if frame is None or frame.BodyType() != Body.Body.Receipt:
            continue  # a heartbeat, or a delivery this example does not expect here
        receipt = Receipt.Receipt()
        receipt.Init(frame.Body().Bytes, frame.Body().Pos)
        if receipt.MessageId().decode() == message_id:
            return receipt


def dealer(ctx, endpoint, server_public, public, secret):
    s = ctx.socket(zmq.DEALER)
    s.curve_serverkey, s.curve_publickey, s.curve_secretkey = server_public, public, secret
    s.linger = 0
    s.connect(endpoint)
    return s


def main():
    work = tempfile.mkdtemp(prefix="keten-pyclient-")
    broker_pub, broker_sec = zmq.curve_keypair()
    keys = {p: zmq.curve_keypair() for p in ("ALPHA", "BRAVO", "CHARLIE")}
    config = os.path.join(work, "keten.toml")
    with open(config, "w") as f:
        f.write('[broker]\nlisten = "tcp://127.0.0.1:*"\nstore = "store/keten.db"\n')
        f.write('contracts = "%s"\nsecret_key = "%s"\n' % (contracts_dir, broker_sec.decode()))
        f.write('payload_key = "%s"\n' % os.urandom(32).hex())  # the test contracts have medical fields
        for partner, (pub, _) in keys.items():
            f.write('[[partner]]\nid = "%s"\npublic_key = "%s"\n' % (partner, pub.decode()))
    broker = subprocess.Popen([keten, "serve", "--config", config], stdout=subprocess.PIPE, text=True)
    try:
        line = broker.stdout.readline().strip()
        check(line.startswith("listening "), "broker prints its endpoint")
        endpoint = line.split(" ", 1)[1]
        ctx = zmq.Context()
        alpha = dealer(ctx, endpoint, broker_pub, *keys["ALPHA"])
        bravo = dealer(ctx, endpoint, broker_pub, *keys["BRAVO"])

        message_id = str(uuid.uuid4())
        payload = '{"planned_at":"2025-03-05T06:00:00+01:00","location":"SCHIPHOL-G","items":[]}'
        receipt = submit_and_wait(alpha, submit_frame(message_id, "test.notice", 1, "9990012345", payload),
                                  message_id)
        check(receipt is not None, "a receipt naming the message id answers the submit")
        check(receipt.Status() == ReceiptStatus.ReceiptStatus.Accepted, "valid message accepted")
        check(sorted(receipt.Recipients(i).decode() for i in range(receipt.RecipientsLength())) == ["BRAVO", "CHARLIE"],
              "receipt lists the consumers")

        bad = '{"planned_at":"not a time","location":"SCHIPHOL-G","items":[]}'
        alpha.send(submit_frame(str(uuid.uuid4()), "test.notice", 1, "9990012345", bad))
        frame = read_frame(alpha)
        rejected = Receipt.Receipt()
        rejected.Init(frame.Body().Bytes, frame.Body().Pos)
        check(rejected.Status() == ReceiptStatus.ReceiptStatus.Rejected, "invalid message rejected")
        check(rejected.Code() == ErrorCode.ErrorCode.SchemaViolation, "rejection code is SchemaViolation")
        pointers = [rejected.Errors(i).Pointer().decode() for i in range(rejected.ErrorsLength())]
        check("/planned_at" in pointers, "rejection names /planned_at")

        bravo.send(small_frame("credit", 8))
        frame = read_frame(bravo)
        check(frame is not None and frame.BodyType() == Body.Body.Deliver, "a delivery arrives after credit")
        deliver = Deliver.Deliver()
        deliver.Init(frame.Body().Bytes, frame.Body().Pos)
        check(deliver.Header().MessageId().decode() == message_id, "delivery carries the message id")
        check(deliver.Sender().decode() == "ALPHA", "delivery names the authenticated sender")
        check(deliver.Attempt() == 1, "first attempt")
        check(bytes(deliver.Payload(i) for i in range(deliver.PayloadLength())) == payload.encode(),
              "payload arrives unchanged")
        bravo.send(small_frame("ack", deliver.DeliveryId()))
        bravo.send(small_frame("credit", 8))
        check(read_frame(bravo, 700) is None, "nothing is delivered again after the ack")
        bravo.send(small_frame("credit", 0))
        for s in (alpha, bravo):
            s.close()
        ctx.term()
    finally:
        broker.send_signal(signal.SIGTERM)
        code = broker.wait(timeout=10)
        check(code == 0, "broker stops cleanly on SIGTERM")
    print("%d passed, %d failed" % (checks["passed"], checks["failed"]))
    return 1 if checks["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
