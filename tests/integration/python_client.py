#!/usr/bin/python3
"""A Keten client written from docs/protocol.md alone, in Python (python3-zmq, python3-flatbuffers).

It starts the real `keten serve`, submits a valid and an invalid message as ALPHA, receives and
acknowledges the delivery as BRAVO and reports it processed (refused with a reason; before the ack, without a
reason and twice each refused); then speaks the batch frames: a SubmitBatch of 100 messages
(one invalid, two duplicates) answered by one ReceiptBatch in order, an empty batch, a damaged
batch, an oversize batch, a DeliverBatch to a consumer that asked for them and one AckBatch; then
kills the broker with SIGKILL, restarts it on the same store and checks that every message a batch
receipt accepted is delivered. Prints every failed check and exits non-zero when any failed.
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
from keten.wire import (Ack, AckBatch, AckReceipt, Body, Credit, Deliver, DeliverBatch, Error,  # noqa: E402
                        ErrorCode, Frame, Header, Processed, ProcessedOutcome, Receipt, ReceiptBatch,
                        ReceiptStatus, Submit, SubmitBatch)

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


def build_submit(b, message_id, contract, version, case_ref, payload):
    """Builds one Submit table in `b` and returns its offset."""
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
    return Submit.SubmitEnd(b)


def submit_frame(message_id, contract, version, case_ref, payload):
    b = flatbuffers.Builder(256)
    return finish(b, Body.Body.Submit, build_submit(b, message_id, contract, version, case_ref, payload))


def table_vector(b, start, offsets):
    start(b, len(offsets))
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def submit_batch_frame(messages):
    """messages: (message_id, contract, version, case_ref, payload) tuples, in order."""
    b = flatbuffers.Builder(1024)
    offsets = [build_submit(b, *m) for m in messages]
    vec = table_vector(b, SubmitBatch.SubmitBatchStartMessagesVector, offsets)
    SubmitBatch.SubmitBatchStart(b)
    SubmitBatch.SubmitBatchAddMessages(b, vec)
    return finish(b, Body.Body.SubmitBatch, SubmitBatch.SubmitBatchEnd(b))


def ack_batch_frame(ids):
    b = flatbuffers.Builder(64 + 8 * len(ids))
    AckBatch.AckBatchStartDeliveryIdsVector(b, len(ids))
    for i in reversed(ids):
        b.PrependUint64(i)
    vec = b.EndVector()
    AckBatch.AckBatchStart(b)
    AckBatch.AckBatchAddDeliveryIds(b, vec)
    return finish(b, Body.Body.AckBatch, AckBatch.AckBatchEnd(b))


def processed_frame(delivery_id, outcome, reason=""):
    """A Processed report (docs/protocol.md, "Processed"): outcome done or refused, with a reason."""
    b = flatbuffers.Builder(64 + len(reason))
    text = b.CreateString(reason) if reason else None
    Processed.ProcessedStart(b)
    Processed.ProcessedAddDeliveryId(b, delivery_id)
    Processed.ProcessedAddOutcome(b, outcome)
    if text is not None:
        Processed.ProcessedAddReason(b, text)
    return finish(b, Body.Body.Processed, Processed.ProcessedEnd(b))


def body(frame, cls):
    table = cls()
    table.Init(frame.Body().Bytes, frame.Body().Pos)
    return table


def small_frame(kind, value):
    b = flatbuffers.Builder(64)
    if kind in ("credit", "credit+batches", "credit+batches+ack_receipts"):
        Credit.CreditStart(b)
        Credit.CreditAddCredit(b, value)
        if kind != "credit":
            Credit.CreditAddBatches(b, True)
        if kind == "credit+batches+ack_receipts":
            Credit.CreditAddAckReceipts(b, True)
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


def expect_error(sock, code, what):
    frame = read_frame(sock)
    ok = frame is not None and frame.BodyType() == Body.Body.Error
    check(ok, what + ": answered with one Error frame")
    if ok:
        error = body(frame, Error.Error)
        check(error.Code() == code, "%s: code %d (got %d: %s)" % (what, code, error.Code(), error.Detail()))


def batches(alpha, bravo, payload, first_id):
    """The batch frames against a running broker. Returns the ids the batch receipts accepted."""
    S = ReceiptStatus.ReceiptStatus
    ids = [str(uuid.uuid4()) for _ in range(100)]
    ids[70] = ids[10]     # the same message twice in one batch: the second is a duplicate
    ids[80] = first_id    # a message accepted before, in an earlier frame: a duplicate
    bad = '{"planned_at":"not a time","location":"SCHIPHOL-G","items":[]}'
    messages = [(mid, "test.notice", 1, "9990012345", bad if i == 50 else payload) for i, mid in enumerate(ids)]
    alpha.send(submit_batch_frame(messages))
    frame = read_frame(alpha, 30000)
    check(frame is not None and frame.BodyType() == Body.Body.ReceiptBatch, "one ReceiptBatch answers the batch")
    if frame is None or frame.BodyType() != Body.Body.ReceiptBatch:
        return []
    rb = body(frame, ReceiptBatch.ReceiptBatch)
    check(rb.ReceiptsLength() == 100, "100 receipts for 100 messages (got %d)" % rb.ReceiptsLength())
    receipts = [rb.Receipts(i) for i in range(rb.ReceiptsLength())]
    check([r.MessageId().decode() for r in receipts] == ids, "receipts in the batch's order")
    expected = [S.Rejected if i == 50 else S.Duplicate if i in (70, 80) else S.Accepted for i in range(100)]
    check([r.Status() for r in receipts] == expected, "one rejected, two duplicates, the rest accepted")
    check(receipts[50].Code() == ErrorCode.ErrorCode.SchemaViolation, "the invalid message alone: SchemaViolation")
    check(receipts[70].LogSeq() == receipts[10].LogSeq() and receipts[10].LogSeq() > 0,
          "the duplicate in the batch names the first one's acceptance")
    check(all(r.SignatureLength() == 0 or r.SignatureLength() == 64 for r in receipts), "receipts signed as today")
    accepted = [ids[i] for i in range(100) if expected[i] == S.Accepted]

    alpha.send(submit_batch_frame([]))
    expect_error(alpha, ErrorCode.ErrorCode.Protocol, "an empty batch")
    damaged = submit_batch_frame(messages[:3])
    alpha.send(damaged[: len(damaged) // 2])
    expect_error(alpha, ErrorCode.ErrorCode.MalformedEnvelope, "a truncated batch")
    big = '{"planned_at":"2025-03-05T06:00:00+01:00","location":"%s","items":[]}' % ("X" * 400000)
    alpha.send(submit_batch_frame([(str(uuid.uuid4()), "test.notice", 1, "9990012345", big) for _ in range(3)]))
    expect_error(alpha, ErrorCode.ErrorCode.TooLarge, "a batch above max_message_bytes")
    after = str(uuid.uuid4())
    alpha.send(submit_frame(after, "test.notice", 1, "9990012345", payload))
    frame = read_frame(alpha)
    check(frame is not None and frame.BodyType() == Body.Body.Receipt and
          body(frame, Receipt.Receipt).Status() == S.Accepted, "a single Submit after the bad batches is accepted")
    accepted.append(after)

    # A consumer that asks for batches gets DeliverBatch frames and acknowledges with one AckBatch.
    bravo.send(small_frame("credit+batches", 500))
    got, batch_frames = [], 0
    deadline = time.time() + 60
    while len(got) < len(accepted) and time.time() < deadline:
        frame = read_frame(bravo, 2000)
        if frame is None:
            continue
        if frame.BodyType() == Body.Body.DeliverBatch:
            db = body(frame, DeliverBatch.DeliverBatch)
            batch_frames += 1
            got += [db.Deliveries(i) for i in range(db.DeliveriesLength())]
        elif frame.BodyType() == Body.Body.Deliver:
            got.append(body(frame, Deliver.Deliver))
    check(sorted(d.Header().MessageId().decode() for d in got) == sorted(accepted),
          "every accepted message delivered once (%d of %d)" % (len(got), len(accepted)))
    check(batch_frames >= 1 and batch_frames < len(got), "deliveries came batched (%d frames)" % batch_frames)
    check([d.Header().MessageId().decode() for d in got] == accepted, "deliveries in acceptance order")
    unknown = 999999999
    # Asking for ack receipts: the ack batch is answered with the seq of each acknowledged event.
    bravo.send(small_frame("credit+batches+ack_receipts", 500))
    bravo.send(ack_batch_frame([d.DeliveryId() for d in got] + [unknown]))
    answers = {}
    for _ in range(2):
        frame = read_frame(bravo)
        if frame is not None:
            answers[frame.BodyType()] = frame
    error = answers.get(Body.Body.Error)
    check(error is not None and body(error, Error.Error).Code() == ErrorCode.ErrorCode.UnknownDelivery and
          body(error, Error.Error).DeliveryId() == unknown, "an unknown id in an ack batch answered alone")
    acked = answers.get(Body.Body.AckReceipt)
    check(acked is not None, "an AckReceipt answers the ack batch")
    if acked is not None:
        ar = body(acked, AckReceipt.AckReceipt)
        ids = [ar.DeliveryIds(i) for i in range(ar.DeliveryIdsLength())]
        seqs = [ar.LogSeqs(i) for i in range(ar.LogSeqsLength())]
        check(ids == [d.DeliveryId() for d in got], "the AckReceipt names the acknowledged ids, without the unknown one")
        check(len(seqs) == len(ids) and all(q > 0 for q in seqs) and len(set(seqs)) == len(seqs),
              "one distinct acknowledged event seq per delivery")
    bravo.send(small_frame("credit+batches", 500))
    check(read_frame(bravo, 700) is None, "nothing is delivered again after the ack batch")
    return accepted


def start_broker(config):
    broker = subprocess.Popen([keten, "serve", "--config", config], stdout=subprocess.PIPE, text=True)
    line = broker.stdout.readline().strip()
    check(line.startswith("listening "), "broker prints its endpoint")
    return broker, line.split(" ", 1)[1]


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
    broker, endpoint = start_broker(config)
    try:
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
        Outcome = ProcessedOutcome.ProcessedOutcome
        bravo.send(processed_frame(deliver.DeliveryId(), Outcome.Done))
        expect_error(bravo, ErrorCode.ErrorCode.Protocol, "processed before the ack")
        bravo.send(small_frame("ack", deliver.DeliveryId()))
        bravo.send(small_frame("credit", 8))
        check(read_frame(bravo, 700) is None, "nothing is delivered again after the ack")
        # Processed: refused needs a reason; the first report is logged (nothing answers it), a
        # second is refused naming the first.
        bravo.send(processed_frame(deliver.DeliveryId(), Outcome.Refused))
        expect_error(bravo, ErrorCode.ErrorCode.Protocol, "processed refused without a reason")
        bravo.send(processed_frame(deliver.DeliveryId(), Outcome.Refused, "case unknown here"))
        check(read_frame(bravo, 700) is None, "a processed report is not answered")
        bravo.send(processed_frame(deliver.DeliveryId(), Outcome.Done))
        expect_error(bravo, ErrorCode.ErrorCode.Protocol, "a second processed report")

        accepted = batches(alpha, bravo, payload, message_id)
        for s in (alpha, bravo):
            s.close()

        # kill -9: what a batch receipt accepted was committed before the receipt left.
        broker.kill()
        broker.wait(timeout=10)
        broker, endpoint = start_broker(config)
        charlie = dealer(ctx, endpoint, broker_pub, *keys["CHARLIE"])
        charlie.send(small_frame("credit+batches", 1000))
        seen = set()
        deadline = time.time() + 60
        while not set(accepted) <= seen and time.time() < deadline:
            frame = read_frame(charlie, 2000)
            if frame is None:
                continue
            if frame.BodyType() == Body.Body.DeliverBatch:
                db = body(frame, DeliverBatch.DeliverBatch)
                seen |= {db.Deliveries(i).Header().MessageId().decode() for i in range(db.DeliveriesLength())}
            elif frame.BodyType() == Body.Body.Deliver:
                seen.add(body(frame, Deliver.Deliver).Header().MessageId().decode())
        check(set(accepted) <= seen, "after SIGKILL every message a receipt accepted is delivered")
        charlie.send(small_frame("credit", 0))
        charlie.close()
        ctx.term()
    finally:
        broker.send_signal(signal.SIGTERM)
        code = broker.wait(timeout=10)
        check(code == 0, "broker stops cleanly on SIGTERM")
    print("%d passed, %d failed" % (checks["passed"], checks["failed"]))
    return 1 if checks["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
