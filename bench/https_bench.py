#!/usr/bin/python3
"""HTTPS API throughput beside the ZeroMQ figure, on one broker (docs/performance.md, docs/http-api.md).

Starts `keten serve` with the bench contract set (DTV produces departure.scheduled for KMAR) and
[http_api], both partners mapped by OIN. Then, on that broker:
  1. ZeroMQ: `keten bench` against it with DTV's and KMAR's profiles (submit and deliver together);
  2. HTTPS submit: W keep-alive connections POST single messages (and, with --batch B, arrays of B)
     until N are accepted; the figure is accepted messages per second;
  3. HTTPS deliver: one KMAR client drains the backlog with GET /v1/deliveries?max=100 and one
     POST .../ack per delivery; the figure is acknowledged deliveries per second.
Prints one JSON object with the three figures and the ratios HTTPS / ZeroMQ. The HTTPS clients are
Python's standard library (ssl, http.client) on the same machine, so the figures include that
client's cost: they are what a simple integrator's client gets, not the API's ceiling.

Usage: bench/https_bench.py [--keten build/keten] [--messages N] [--window W] [--batch B] [--size BYTES]
"""
import argparse
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OIN = {"DTV": "00000001000000000101", "KMAR": "00000001000000000102"}


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def make_pki(work):
    """A CA, a server certificate for 127.0.0.1 and one client certificate per partner."""
    def issue(name, subject, ext):
        key, csr, crt = (os.path.join(work, name + s) for s in (".key", ".csr", ".crt"))
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
             "-out", csr, "-subj", subject])
        extfile = os.path.join(work, name + ".ext")
        with open(extfile, "w") as f:
            f.write(ext)
        run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
             "-days", "2", "-extfile", extfile])
        return crt, key

    ca_key, ca_crt = os.path.join(work, "ca.key"), os.path.join(work, "ca.crt")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
         ca_key, "-out", ca_crt, "-days", "2", "-subj", "/CN=bench CA"])
    server = issue("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    clients = {p: issue(p, "/serialNumber=%s/CN=%s" % (OIN[p], p), "extendedKeyUsage=clientAuth\n") for p in OIN}
    return ca_crt, server, clients


class Client:
    def __init__(self, host, port, ca, cert):
        ctx = ssl.create_default_context(cafile=ca)
        ctx.load_cert_chain(*cert)
        self.conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=300)

    def request(self, method, path, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.conn.request(method, path, body=body, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, data


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keten", default=os.path.join(ROOT, "build", "keten"))
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--window", type=int, default=16, help="HTTPS connections submitting at once; keten bench --window")
    ap.add_argument("--batch", type=int, default=0, help="also measure batches of this many messages per POST")
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="keten-https-bench-")
    keys = os.path.join(work, "keys")
    for name in ("broker", "DTV", "KMAR"):
        run([args.keten, "keygen", name, "--dir", keys])
    ca, server, clients = make_pki(work)
    contracts = os.path.join(ROOT, "bench", "contracts")
    config = os.path.join(work, "keten.toml")
    with open(config, "w") as f:
        f.write('[broker]\nlisten = "tcp://127.0.0.1:*"\nstore = "keten.db"\ncontracts = "%s"\n' % contracts)
        f.write('secret_key = "keys/broker.secret"\nrate_limit = 0\npayload_key = "%s"\n' % os.urandom(32).hex())
        for p in OIN:
            f.write('[[partner]]\nid = "%s"\npublic_key = "keys/%s.public"\noin = "%s"\n' % (p, p, OIN[p]))
        f.write('[http_api]\nlisten = "127.0.0.1:0"\ncert_file = "%s"\nkey_file = "%s"\nca_file = "%s"\n'
                % (server[0], server[1], ca))
    broker = subprocess.Popen([args.keten, "serve", "--config", config], stdout=subprocess.PIPE,
                              stderr=open(os.path.join(work, "broker.log"), "w"), text=True)
    first = broker.stdout.readline().strip()
    if not first.startswith("listening "):
        raise SystemExit("keten serve did not start: see " + os.path.join(work, "broker.log"))
    lines = dict(line.split(" ", 1) for line in (first, broker.stdout.readline().strip()))
    endpoint = lines["listening"]
    host, port = lines["https"].rsplit(":", 1)
    port = int(port)
    result = {"system": "https", "messages": args.messages, "window": args.window, "payload_bytes": args.size}
    try:
        for p in OIN:
            with open(os.path.join(work, p + ".toml"), "w") as f:
                f.write('broker = "%s"\nbroker_public_key = "keys/broker.public"\npartner = "%s"\n'
                        'secret_key = "keys/%s.secret"\n' % (endpoint, p, p))
        zmq = run([args.keten, "bench", "--json", "--messages", str(args.messages), "--window", str(args.window),
                   "--size", str(args.size), "--producer-profile", os.path.join(work, "DTV.toml"),
                   "--consumer-profile", os.path.join(work, "KMAR.toml"), "--broker-pid", str(broker.pid)])
        z = json.loads(zmq.stdout)
        result["zeromq_msg_per_s"] = z["throughput"]

        with open(os.path.join(contracts, "samples", "departure.scheduled.valid.json")) as f:
            payload = json.load(f)
        pad = max(0, args.size - len(json.dumps(payload, separators=(",", ":"))))
        payload["remarks"] = "x" * pad

        def message():
            return {"message_id": str(uuid.uuid4()), "contract": "departure.scheduled", "version": 1,
                    "case_ref": "9990012345", "payload": payload}

        def submit_figure(batch):
            per_thread = args.messages // args.window
            failures = []

            def producer():
                c = Client(host, port, ca, clients["DTV"])
                sent = 0
                while sent < per_thread:
                    n = min(batch or 1, per_thread - sent)
                    body = json.dumps([message() for _ in range(n)] if batch else message())
                    status, data = c.request("POST", "/v1/messages", body)
                    if status != 201:
                        failures.append((status, data[:200]))
                        return
                    sent += n

            threads = [threading.Thread(target=producer) for _ in range(args.window)]
            start = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.monotonic() - start
            if failures:
                raise SystemExit("https submit failed: %s" % (failures[:3],))
            return per_thread * args.window / seconds, per_thread * args.window

        result["https_submit_msg_per_s"], submitted = submit_figure(0)
        if args.batch:
            result["https_submit_batch"] = args.batch
            result["https_submit_batch_msg_per_s"], more = submit_figure(args.batch)
            submitted += more

        consumer = Client(host, port, ca, clients["KMAR"])
        acked = 0
        start = time.monotonic()
        while acked < submitted:
            status, data = consumer.request("GET", "/v1/deliveries?max=100&wait=10")
            deliveries = json.loads(data)["deliveries"] if status == 200 else []
            if not deliveries:
                raise SystemExit("https deliver: nothing came after %d of %d" % (acked, submitted))
            for d in deliveries:
                status, _ = consumer.request("POST", "/v1/deliveries/%d/ack" % d["delivery_id"])
                if status != 204:
                    raise SystemExit("https ack answered %d" % status)
                acked += 1
        result["https_deliver_msg_per_s"] = acked / (time.monotonic() - start)
        for key in ("https_submit_msg_per_s", "https_submit_batch_msg_per_s", "https_deliver_msg_per_s"):
            if key in result:
                result[key.replace("_msg_per_s", "_ratio_to_zeromq")] = round(result[key] / result["zeromq_msg_per_s"], 3)
                result[key] = round(result[key], 1)
    finally:
        broker.terminate()
        broker.wait(timeout=120)
    print(json.dumps(result))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
