#!/usr/bin/python3
"""The HTTPS API with mutual TLS against the real `keten serve` (docs/http-api.md).

Makes a CA and partner certificates with openssl (the OIN in the subject's serialNumber), a second
CA, an expired and a revoked certificate and a CRL; starts the broker with [http_api]; then talks
to it with Python's standard library (ssl, http.client) and with curl. Checks the handshake
refusals, submit (201, 200 duplicate, problem+json with every error), the long poll, ack and nack,
that one partner cannot ack or read another's deliveries, that an oversize body gets 413 before it
is sent, chunked bodies (with curl, oversize ones refused at the chunk that crosses the limit,
malformed framing named), that 100 concurrent HTTPS clients and stalled ones do not stall a ZeroMQ
partner's messages, that connections above max_connections are closed while the held ones and
the ZeroMQ side go on, that the keten_https_* metrics move by what was done, that the handover log
records the https origin, and the OpenAPI document and its examples.
Prints every failed check and exits non-zero when any failed.
Usage: https_api_test.py KETEN_BINARY SOURCE_DIR
"""
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import warnings

keten, source_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.join(source_dir, "tests", "support"))
from log_rows import log_rows  # noqa: E402
contracts_dir = os.path.join(source_dir, "tests", "data", "contracts")
checks = {"passed": 0, "failed": 0}
OIN = {"ALPHA": "00000001000000000001", "BRAVO": "00000001000000000002", "STRANGER": "00000001000000000099"}
NOTICE = {"planned_at": "2025-03-05T06:00:00+01:00", "location": "SCHIPHOL-G", "items": []}
HANG = 120  # seconds: only bounds a hang, never a speed expectation


def check(condition, what):
    if condition:
        checks["passed"] += 1
    else:
        checks["failed"] += 1
        print("FAILED:", what, flush=True)


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


class Pki:
    """A CA made with `openssl ca` (so it can revoke and issue a CRL), and its certificates."""

    def __init__(self, work, name):
        self.dir = os.path.join(work, name)
        os.makedirs(os.path.join(self.dir, "certs"))
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(self.dir, "crlnumber"), "w") as f:
            f.write("01\n")
        self.conf = os.path.join(self.dir, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write("""[ca]
default_ca = keten
[keten]
dir = %s
database = $dir/index.txt
new_certs_dir = $dir/certs
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = copy
[any]
serialNumber = optional
commonName = supplied
organizationName = optional
countryName = optional
[client]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
[server]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
""" % self.dir)
        self.key, self.crt = self.path("ca.key"), self.path("ca.crt")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", self.key, "-out", self.crt, "-days", "30", "-subj", "/O=Keten test/CN=%s" % name])

    def path(self, name):
        return os.path.join(self.dir, name)

    def issue(self, name, subject, extensions="client", start=None, end=None):
        key, csr, crt = self.path(name + ".key"), self.path(name + ".csr"), self.path(name + ".crt")
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
             "-out", csr, "-subj", subject])
        args = ["openssl", "ca", "-batch", "-config", self.conf, "-extensions", extensions, "-in", csr, "-out", crt,
                "-notext"]
        if start:
            args += ["-startdate", start, "-enddate", end]
        run(args)
        return crt, key

    def revoke(self, crt):
        run(["openssl", "ca", "-batch", "-config", self.conf, "-revoke", crt])
        crl = self.path("ca.crl")
        run(["openssl", "ca", "-batch", "-config", self.conf, "-gencrl", "-out", crl])
        return crl


def fingerprint(crt):
    out = run(["openssl", "x509", "-in", crt, "-noout", "-fingerprint", "-sha256"]).stdout
    return out.strip().split("=", 1)[1].replace(":", "").lower()


class Client:
    """One partner's HTTPS client: Python's ssl and http.client, one kept-alive connection."""

    def __init__(self, host, port, ca, cert):
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(*cert)
        self.host, self.port = host, port
        self.conn = None

    def request(self, method, path, body=None, headers=None, timeout=HANG):
        data = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        for tries_left in (1, 0):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (ssl.SSLEOFError, BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # A kept-alive connection the broker closed after io_timeout_ms of silence (as
                # docs/http-api.md says it does): the request never reached it; open a new one.
                self.conn.close()
                self.conn = None
                if not reused or tries_left == 0:
                    raise
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                raise
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return r.status, r.headers, parsed

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def handshake_refused(host, port, ca, cert, max_version=None):
    """True when the TLS handshake (or the first read after it, for TLS 1.3) fails."""
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(*cert)
    if max_version:
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.maximum_version = max_version
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    try:
        with socket.create_connection((host, port), timeout=HANG) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                # TLS 1.3 clients finish before the server has checked their certificate: the
                # refusal arrives as an alert on the first read.
                s.sendall(b"GET /v1/contracts HTTP/1.1\r\nHost: x\r\n\r\n")
                return s.recv(100) == b""
    except (ssl.SSLError, OSError):
        return True


def curl(args, ca, cert):
    cmd = ["curl", "-sS", "--max-time", str(HANG), "--cacert", ca, "--cert", cert[0], "--key", cert[1]] + args
    return subprocess.run(cmd, capture_output=True, text=True)


def message(contract="test.notice", payload=None, **extra):
    m = {"message_id": str(uuid.uuid4()), "contract": contract, "version": 1, "case_ref": "9990012345",
         "payload": NOTICE if payload is None else payload}
    m.update(extra)
    return m


def scrape(metrics_at):
    """The broker's /metrics (at host:port) as {(name, ((label, value), ...)): value}."""
    with urllib.request.urlopen("http://%s/metrics" % metrics_at, timeout=HANG) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if m:
            labels = tuple(sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(scraped, name, **labels):
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before, after, name, **labels):
    return metric(after, name, **labels) - metric(before, name, **labels)


def write_config(config, store, broker_extra, server, ca, cert, crl, api_extra=""):
    with open(config, "w") as f:
        f.write('[broker]\nlisten = "tcp://127.0.0.1:*"\nstore = "%s"\n%s' % (store, broker_extra))
        f.write('contracts = "%s"\nsecret_key = "keys/broker.secret"\n' % contracts_dir)
        f.write('payload_key = "%s"\n' % os.urandom(32).hex())  # the test contracts have medical fields
        f.write('[[partner]]\nid = "ALPHA"\npublic_key = "keys/ALPHA.public"\noin = "%s"\n' % OIN["ALPHA"])
        f.write('[[partner]]\nid = "BRAVO"\npublic_key = "keys/BRAVO.public"\noin = "%s"\n' % OIN["BRAVO"])
        f.write('[[partner]]\nid = "CHARLIE"\npublic_key = "keys/CHARLIE.public"\ncert_sha256 = "%s"\n'
                % fingerprint(cert["CHARLIE"][0]))
        f.write('[http]\nlisten = "127.0.0.1:0"\n')  # /metrics
        f.write('[http_api]\nlisten = "127.0.0.1:0"\ncert_file = "%s"\nkey_file = "%s"\nca_file = "%s"\n'
                % (server[0], server[1], ca.crt))
        f.write('crl_file = "%s"\nmax_body_bytes = 65536\nmax_wait_s = 60\n%s' % (crl, api_extra))


def second_broker(work, server, ca, cert, crl):
    """A second broker with rate_limit 1 and ack_timeout_ms 1000: the second submit in a row gets
    429 with Retry-After; a delivery taken and not acked is offered again, to the next GET."""
    config = os.path.join(work, "limited.toml")
    write_config(config, "limited/keten.db", "rate_limit = 1\nrate_burst = 1\nack_timeout_ms = 1000\nmax_attempts = 2\n",
                 server, ca, cert, crl)
    text = open(config).read().replace("max_body_bytes = 65536", "max_body_bytes = 4194304")
    open(config, "w").write(text)
    broker, _, host, port, _ = start_broker(config)
    try:
        alpha = Client(host, port, ca.crt, cert["ALPHA"])
        first = alpha.request("POST", "/v1/messages", message())
        second = alpha.request("POST", "/v1/messages", message())
        check(first[0] == 201, "rate limit 1/s: the first submit accepted")
        check(second[0] == 429 and second[2]["code"] == "rate_limited" and second[1].get("Retry-After") == "1",
              "rate limit 1/s: the next at once gets 429 rate_limited with Retry-After (%s)" % second[0])
        # A payload nested 1.5 million levels deep (3 MB, within this broker's 4 MiB body limit):
        # refused before it is parsed, where writing it out again would recurse once per level.
        deep = '{"message_id":"deep","contract":"test.notice","version":1,"case_ref":"1","payload":%s}' % (
            "[" * 1500000 + "]" * 1500000)
        status, _, problem = alpha.request("POST", "/v1/messages", deep)
        check(status == 400 and problem["code"] == "depth", "a payload 1.5 million levels deep: 400 depth (%s)" % status)
        bravo = Client(host, port, ca.crt, cert["BRAVO"])
        status, _, body = bravo.request("GET", "/v1/deliveries?max=10&wait=30")
        taken = body["deliveries"] if status == 200 else []
        check(len(taken) == 1 and taken[0]["message_id"] == first[2]["message_id"], "BRAVO takes the delivery")
        again = []
        deadline = time.time() + HANG
        while not again and taken and time.time() < deadline:
            status, _, body = bravo.request("GET", "/v1/deliveries?max=10&wait=10")
            again = [d for d in body["deliveries"] if d["delivery_id"] == taken[0]["delivery_id"]]
        check(again and again[0]["attempt"] == taken[0]["attempt"] + 1,
              "not acked within ack_timeout_ms: offered again with the next attempt")
        if again:
            status, _, _ = bravo.request("POST", "/v1/deliveries/%d/ack" % again[0]["delivery_id"])
            check(status == 204, "the redelivered one is acked")
        # A partner that polls seldom: while no GET waits, nothing is held for it in the API, so
        # the second message does not use up its attempts (max_attempts 2, ack_timeout_ms 1000)
        # before anyone could see it. ALPHA's empty long poll is the timer.
        later = (429,)
        for _ in range(HANG):
            later = alpha.request("POST", "/v1/messages", message())
            if later[0] != 429:
                break
            alpha.request("GET", "/v1/deliveries?max=1&wait=1")  # a second for the rate limit's next token
        check(later[0] == 201, "a later submit accepted (%s)" % later[0])
        if later[0] == 201:
            alpha.request("GET", "/v1/deliveries?max=1&wait=5")
            status, _, body = bravo.request("GET", "/v1/deliveries?max=10&wait=30")
            seen = [d for d in body.get("deliveries", []) if d["message_id"] == later[2]["message_id"]]
            check(seen and seen[0]["attempt"] == 1,
                  "a message accepted while BRAVO did not poll comes at its next poll as attempt 1 (%s)" % seen)
            if seen:
                status, _, _ = bravo.request("POST", "/v1/deliveries/%d/ack" % seen[0]["delivery_id"])
                check(status == 204, "and is acked, not dead-lettered (%s)" % status)
        bravo.close()
        alpha.close()
    finally:
        broker.terminate()
        broker.wait(timeout=HANG)


def start_broker(config):
    """The broker, its ZeroMQ endpoint, the HTTPS host and port, and the /metrics host:port."""
    broker = subprocess.Popen([keten, "serve", "--config", config], stdout=subprocess.PIPE, text=True)
    lines = {}
    for _ in range(3):  # listening, http, https
        line = broker.stdout.readline().strip()
        if " " in line:
            key, value = line.split(" ", 1)
            lines[key] = value
        if "https" in lines or not line:
            break
    check("listening" in lines and "https" in lines and "http" in lines,
          "broker prints its ZeroMQ, http and https endpoints (%s)" % lines)
    host, port = lines.get("https", "127.0.0.1:0").rsplit(":", 1)
    return broker, lines.get("listening", ""), host, int(port), lines.get("http", "")


def main():
    work = tempfile.mkdtemp(prefix="keten-https-")
    keys = os.path.join(work, "keys")
    for name in ("broker", "ALPHA", "BRAVO", "CHARLIE"):
        run([keten, "keygen", name, "--dir", keys])
    ca = Pki(work, "ca")
    other = Pki(work, "other-ca")
    server = ca.issue("server", "/CN=localhost", extensions="server")
    cert = {p: ca.issue(p, "/serialNumber=%s/O=Test %s/CN=%s" % (OIN[p], p, p)) for p in ("ALPHA", "BRAVO", "STRANGER")}
    cert["CHARLIE"] = ca.issue("CHARLIE", "/O=Test CHARLIE/CN=charlie-system")  # mapped by fingerprint
    wrong_ca = other.issue("wrong", "/serialNumber=%s/CN=ALPHA" % OIN["ALPHA"])
    expired = ca.issue("expired", "/serialNumber=%s/CN=ALPHA" % OIN["ALPHA"], start="20200101000000Z",
                       end="20200201000000Z")
    revoked = ca.issue("revoked", "/serialNumber=%s/CN=ALPHA" % OIN["ALPHA"])
    crl = ca.revoke(revoked[0])

    config = os.path.join(work, "keten.toml")
    write_config(config, "store/keten.db", "", server, ca, cert, crl)
    for partner in ("ALPHA", "CHARLIE"):
        with open(os.path.join(work, partner + ".toml"), "w") as f:
            f.write('broker = "ENDPOINT"\nbroker_public_key = "keys/broker.public"\npartner = "%s"\n'
                    'secret_key = "keys/%s.secret"\n' % (partner, partner))

    checked = subprocess.run([keten, "serve", "--config", config, "--check-config"], capture_output=True, text=True)
    check(checked.returncode == 0, "keten serve --check-config accepts the [http_api] files: " + checked.stderr)
    bad = os.path.join(work, "bad-key.toml")
    with open(config) as src, open(bad, "w") as dst:
        dst.write(src.read().replace('key_file = "%s"' % server[1], 'key_file = "%s"' % cert["ALPHA"][1]))
    checked = subprocess.run([keten, "serve", "--config", bad, "--check-config"], capture_output=True, text=True)
    check(checked.returncode == 2 and "http_api.key_file" in checked.stderr,
          "--check-config: a key that is not the certificate's, exit 2 naming http_api.key_file: " + checked.stderr)
    broker, endpoint, host, port, metrics_at = start_broker(config)
    for partner in ("ALPHA", "CHARLIE"):
        path = os.path.join(work, partner + ".toml")
        text = open(path).read().replace("ENDPOINT", endpoint)
        open(path, "w").write(text)
    try:
        scenarios(work, host, port, ca, cert, wrong_ca, expired, revoked)
        metrics_checks(host, port, metrics_at, ca, cert, wrong_ca, expired, revoked)
    finally:
        broker.terminate()
        try:
            code = broker.wait(timeout=HANG)
            check(code == 0, "broker stops cleanly on SIGTERM with the HTTPS API running (exit %s)" % code)
        except subprocess.TimeoutExpired:
            broker.kill()
            check(False, "broker stops on SIGTERM with the HTTPS API running")
    log_checks(os.path.join(work, "store", "keten.db"))
    second_broker(work, server, ca, cert, crl)
    max_connections(work, server, ca, cert, crl)
    print("https_api: %d passed, %d failed" % (checks["passed"], checks["failed"]))
    if checks["failed"] == 0:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if checks["failed"] else 0


def scenarios(work, host, port, ca, cert, wrong_ca, expired, revoked):
    alpha, bravo = Client(host, port, ca.crt, cert["ALPHA"]), Client(host, port, ca.crt, cert["BRAVO"])
    charlie, stranger = Client(host, port, ca.crt, cert["CHARLIE"]), Client(host, port, ca.crt, cert["STRANGER"])

    # Handshake refusals: another CA, expired, revoked, no certificate, TLS below 1.2.
    check(not handshake_refused(host, port, ca.crt, cert["ALPHA"]), "a good certificate completes the handshake")
    check(handshake_refused(host, port, ca.crt, wrong_ca), "a certificate from another CA is refused at the handshake")
    check(handshake_refused(host, port, ca.crt, expired), "an expired certificate is refused at the handshake")
    check(handshake_refused(host, port, ca.crt, revoked), "a revoked certificate (in the CRL) is refused at the handshake")
    check(handshake_refused(host, port, ca.crt, None), "a client without a certificate is refused at the handshake")
    check(handshake_refused(host, port, ca.crt, cert["ALPHA"], ssl.TLSVersion.TLSv1_1), "TLS 1.1 is refused")
    for name, c in (("another CA", wrong_ca), ("expired", expired), ("revoked", revoked)):
        r = curl(["https://localhost:%d/v1/contracts" % port, "--resolve", "localhost:%d:%s" % (port, host)], ca.crt, c)
        check(r.returncode != 0 and r.stdout == "", "curl with the %s certificate gets no HTTP answer (exit %d)" % (name, r.returncode))

    # The API document and the version header.
    status, headers, doc = alpha.request("GET", "/v1/openapi.json")
    check(status == 200 and headers.get("API-Version") == "1.1.0", "GET /v1/openapi.json: 200 with API-Version")
    with open(os.path.join(source_dir, "docs", "openapi.json")) as f:
        check(doc == json.load(f), "the served OpenAPI document is docs/openapi.json")

    # Certificate mapping: OIN, fingerprint, unknown.
    status, headers, body = stranger.request("GET", "/v1/contracts")
    check(status == 401 and headers.get("Content-Type") == "application/problem+json" and body["code"] == "unknown_certificate",
          "a valid certificate mapped to no partner: 401 problem+json (%s)" % status)
    check(headers.get("API-Version") == "1.1.0", "API-Version on an error answer")
    status, _, body = charlie.request("GET", "/v1/contracts")
    notice = [c for c in (body or {}).get("contracts", []) if c["name"] == "test.notice" and c["version"] == 1]
    check(status == 200 and notice and notice[0]["roles"] == ["consumer"], "CHARLIE (by fingerprint) sees its consumer role")
    status, _, body = alpha.request("GET", "/v1/contracts/test.notice/1")
    check(status == 200 and body["roles"] == ["owner"] and body["schema"]["required"] == ["planned_at", "location", "items"],
          "GET /v1/contracts/test.notice/1: the schema and ALPHA's owner role")
    status, headers, body = alpha.request("GET", "/v1/contracts/test.notice/9")
    check(status == 404 and body["status"] == 404, "an unknown contract version: 404 problem")

    # Submit: accepted 201, duplicate 200 with the first receipt.
    m = message()
    status, _, first = alpha.request("POST", "/v1/messages", m)
    check(status == 201 and first["status"] == "accepted" and sorted(first["recipients"]) == ["BRAVO", "CHARLIE"],
          "POST one valid message: 201 accepted for BRAVO and CHARLIE (%s %s)" % (status, first))
    status, _, again = alpha.request("POST", "/v1/messages", m)
    check(status == 200 and again["status"] == "duplicate" and again["log_seq"] == first["log_seq"],
          "the same message_id again: 200 duplicate with the first receipt's log_seq")
    # A payload that breaks its contract in several places: every error at once.
    bad = message(payload={"planned_at": "not a time", "location": "MOON", "items": [{"id": "x"}], "extra": 1})
    status, headers, problem = alpha.request("POST", "/v1/messages", bad)
    pointers = sorted(e["pointer"] for e in (problem or {}).get("errors", []))
    check(status == 400 and headers.get("Content-Type") == "application/problem+json" and problem["code"] == "schema_violation",
          "a payload breaking its contract: 400 problem+json schema_violation (%s)" % status)
    for p in ("/payload/planned_at", "/payload/location", "/payload/items/0"):
        check(any(x.startswith(p) for x in pointers), "the problem lists %s (got %s)" % (p, pointers))
    check(len(pointers) >= 4, "every schema error is listed (got %d)" % len(pointers))
    # The request itself malformed: every field problem at once, nothing submitted.
    status, _, problem = alpha.request("POST", "/v1/messages", {"contract": 5, "version": 0, "surprise": True})
    pointers = sorted(e["pointer"] for e in (problem or {}).get("errors", []))
    check(status == 400 and {"/message_id", "/contract", "/version", "/case_ref", "/payload", "/surprise"} <= set(pointers),
          "a malformed request: 400 listing every field (%s)" % pointers)
    status, _, problem = alpha.request("POST", "/v1/messages", '{"message_id": "a", "message_id": "b"}')
    check(status == 400 and problem["code"] == "duplicate_key", "a key twice in one object: 400 duplicate_key")
    status, _, problem = alpha.request("POST", "/v1/messages", b'{"message_id": "\xff\xfe"}')
    check(status == 400 and problem["code"] == "json", "a body that is not UTF-8: 400 json, and the broker lives on (%s)" % status)
    status, _, problem = alpha.request("POST", "/v1/messages", "[" * 30000 + "]" * 30000)
    check(status == 400 and problem["code"] == "depth", "30000 nested arrays: 400 depth (%s)" % status)
    status, _, problem = alpha.request("POST", "/v1/messages", "not json")
    check(status == 400 and problem["code"] == "json", "a body that is not JSON: 400 json")
    status, _, problem = alpha.request("POST", "/v1/messages", m, headers={"Content-Type": "text/plain"})
    check(status == 415, "a body that is not application/json: 415")
    status, _, problem = bravo.request("POST", "/v1/messages", message())
    check(status == 403 and problem["code"] == "not_owner", "BRAVO may not produce test.notice: 403 not_owner")
    taken = dict(message("test.handover", payload={}), message_id=m["message_id"])
    status, _, problem = bravo.request("POST", "/v1/messages", taken)
    check(status == 409 and problem["code"] == "message_id_taken", "another producer's message_id: 409 (%s)" % status)
    status, _, problem = alpha.request("POST", "/v1/messages", message(recipients=["ZULU"]))
    check(status == 400 and problem["errors"], "an unknown recipient: 400 naming it")
    status, _, problem = alpha.request("GET", "/v1/messages")
    check(status == 405, "GET /v1/messages: 405")
    status, _, problem = alpha.request("GET", "/v1/nothing")
    check(status == 404 and problem["code"] == "not_found", "an unknown path: 404 problem")

    # A batch: one bad message rejected alone, a duplicate, the rest accepted.
    batch = [message(), message(payload={"location": "MOON"}), m, message()]
    status, _, body = alpha.request("POST", "/v1/messages", batch)
    statuses = [r["status"] for r in (body or {}).get("receipts", [])]
    check(status == 200 and statuses == ["accepted", "rejected", "duplicate", "accepted"],
          "a batch: receipts in order, one rejected, one duplicate (%s %s)" % (status, statuses))
    bad_receipt = body["receipts"][1] if statuses else {}
    check(bad_receipt.get("code") == "schema_violation" and all(e["pointer"].startswith("/1/payload") for e in bad_receipt.get("errors", [])),
          "the rejected batch entry's errors point into it (/1/payload/...)")
    status, _, body = alpha.request("POST", "/v1/messages", [message(), message()])
    check(status == 201, "a batch all accepted: 201")

    # Oversize body: 413 from the Content-Length, before the body is sent.
    ctx = ssl.create_default_context(cafile=ca.crt)
    ctx.load_cert_chain(*cert["ALPHA"])
    with socket.create_connection((host, port), timeout=HANG) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 10000000\r\n\r\n{\"message_id\":")
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
            check(answer.startswith(b"HTTP/1.1 413"), "a body of 10 MB declared: 413 while the client has sent 14 bytes of it")
            check(b"API-Version: 1.1.0" in answer and b"application/problem+json" in answer, "the 413 is problem+json with API-Version")
    status, _, _ = alpha.request("POST", "/v1/messages", message())
    check(status == 201, "the broker still serves after the oversize request")
    # Expect: 100-continue (curl asks for larger bodies): an oversize body is refused before curl
    # sends a byte of it; an acceptable one is let through.
    big = os.path.join(work, "big.json")
    with open(big, "w") as f:
        json.dump(message(payload=dict(NOTICE, note="x" * 5000000)), f)
    url = ["https://localhost:%d/v1/messages" % port, "--resolve", "localhost:%d:%s" % (port, host),
           "-H", "Content-Type: application/json", "-H", "Expect: 100-continue", "-o", "/dev/null",
           "-w", "%{http_code} %{size_upload}"]
    r = curl(url + ["--data-binary", "@" + big], ca.crt, cert["ALPHA"])
    check(r.stdout.split() == ["413", "0"], "curl with Expect: 100-continue and 5 MB: 413, nothing uploaded (%s)" % r.stdout)
    r = curl(url + ["-H", "Expect:", "--data-binary", "@" + big], ca.crt, cert["ALPHA"])
    check(r.stdout.split()[:1] == ["413"], "curl sending 5 MB at once (no Expect): it still reads the 413 (%s %s)" % (r.stdout, r.stderr[-120:]))
    small = os.path.join(work, "small.json")
    with open(small, "w") as f:
        json.dump(message(payload=dict(NOTICE, note="y" * 150)), f)
    r = curl(url + ["--data-binary", "@" + small], ca.crt, cert["ALPHA"])
    check(r.stdout.split()[0] == "201" and int(r.stdout.split()[1]) > 0, "curl with Expect: 100-continue, a valid message: 201 (%s)" % r.stdout)
    body = json.dumps(message()).encode()
    with socket.create_connection((host, port), timeout=HANG) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
            interim = s.recv(4096)  # before any byte of the body is sent
            check(interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), "Expect: 100-continue gets 100 Continue first (%r)" % interim[:40])
            try:
                s.sendall(body)
            except OSError:
                pass
            final = b""
            while b"\r\n\r\n" not in final:
                chunk = s.recv(4096)
                if not chunk:
                    break
                final += chunk
            check(final.startswith(b"HTTP/1.1 201"), "then the body, and 201")
    chunked_bodies(work, host, port, ca, cert, url)

    # Deliveries: BRAVO takes, ALPHA cannot ack them or read them, BRAVO acks; nack and redelivery.
    status, _, body = bravo.request("GET", "/v1/deliveries?max=3&wait=30")
    got = (body or {}).get("deliveries", [])
    check(status == 200 and 1 <= len(got) <= 3, "BRAVO's long poll with max=3: one to three deliveries (%d)" % len(got))
    deadline = time.time() + HANG
    while len(got) < 3 and time.time() < deadline:
        status, _, body = bravo.request("GET", "/v1/deliveries?max=%d&wait=30" % (3 - len(got)))
        got += body["deliveries"]
    check(len(got) == 3 and len({d["delivery_id"] for d in got}) == 3, "three distinct deliveries in all (%d)" % len(got))
    check(all(d["sender"] == "ALPHA" and d["origin"].startswith("https:oin=%s;serial=" % OIN["ALPHA"]) for d in got),
          "each names ALPHA and the https origin with ALPHA's OIN")
    check(got and got[0]["message_id"] == m["message_id"] and got[0]["payload"] == NOTICE,
          "the first is the first message, its payload as sent")
    status, _, body = alpha.request("GET", "/v1/deliveries?max=10&wait=1")
    check(status == 200 and all(d["contract"] != "test.notice" for d in body["deliveries"]),
          "ALPHA's poll never shows BRAVO's deliveries")
    status, _, problem = alpha.request("POST", "/v1/deliveries/%d/ack" % got[0]["delivery_id"])
    check(status == 404 and problem["code"] == "unknown_delivery", "ALPHA cannot ack BRAVO's delivery: 404 (%s)" % status)
    status, headers, _ = bravo.request("POST", "/v1/deliveries/%d/ack" % got[0]["delivery_id"])
    check(status == 204 and headers.get("API-Version") == "1.1.0", "BRAVO acks its delivery: 204")
    status, _, _ = bravo.request("POST", "/v1/deliveries/999999999/ack")
    check(status == 404, "an ack of a delivery that does not exist: 404")
    # Processed (docs/protocol.md, "Processed"): after the ack, once, refused only with a reason.
    acked = got[0]["delivery_id"]
    status, _, problem = bravo.request("POST", "/v1/deliveries/%d/processed" % got[2]["delivery_id"], {"outcome": "done"})
    check(status == 400 and "not acknowledged" in problem.get("detail", ""),
          "processed before the ack: 400 naming it (%s %s)" % (status, problem))
    status, _, problem = bravo.request("POST", "/v1/deliveries/%d/processed" % acked, {"outcome": "refused"})
    check(status == 400 and "needs a reason" in problem.get("detail", ""), "refused without a reason: 400 (%s)" % status)
    status, _, problem = bravo.request("POST", "/v1/deliveries/%d/processed" % acked, {"outcome": "maybe"})
    check(status == 400 and problem["errors"][0]["pointer"] == "/outcome", "an unknown outcome: 400 at /outcome (%s)" % status)
    status, _, problem = alpha.request("POST", "/v1/deliveries/%d/processed" % acked, {"outcome": "done"})
    check(status == 404, "ALPHA cannot report BRAVO's delivery processed: 404 (%s)" % status)
    status, headers, _ = bravo.request("POST", "/v1/deliveries/%d/processed" % acked,
                                       {"outcome": "refused", "reason": "case closed here"})
    check(status == 204, "BRAVO reports its acknowledged delivery refused with a reason: 204 (%s)" % status)
    status, _, problem = bravo.request("POST", "/v1/deliveries/%d/processed" % acked, {"outcome": "done"})
    check(status == 400 and "reported processed before" in problem.get("detail", ""),
          "a second report: 400, the first stands (%s)" % status)
    status, _, _ = bravo.request("POST", "/v1/deliveries/%d/nack" % got[1]["delivery_id"], {"reason": "not now"})
    check(status == 204, "BRAVO nacks a delivery: 204")
    status, _, body = bravo.request("GET", "/v1/deliveries?max=1000&wait=30")
    again = [d for d in body["deliveries"] if d["delivery_id"] == got[1]["delivery_id"]]
    deadline = time.time() + HANG
    while not again and time.time() < deadline:
        status, _, body = bravo.request("GET", "/v1/deliveries?max=1000&wait=5")
        again = [d for d in body["deliveries"] if d["delivery_id"] == got[1]["delivery_id"]]
    check(again and again[0]["attempt"] == got[1]["attempt"] + 1, "the nacked delivery comes again with the next attempt")
    status, _, problem = bravo.request("GET", "/v1/deliveries?max=0&wait=x")
    check(status == 400 and {e["pointer"] for e in problem["errors"]} == {"?max", "?wait"}, "bad max and wait: both named")
    # With curl: the same flow from the command line.
    r = curl(["-i", "https://localhost:%d/v1/deliveries?max=1&wait=1" % port, "--resolve", "localhost:%d:%s" % (port, host)],
             ca.crt, cert["BRAVO"])
    check(r.returncode == 0 and "api-version: 1.1.0" in r.stdout.lower() and " 200" in r.stdout.split("\r\n")[0],
          "curl: GET /v1/deliveries answers 200 with API-Version")

    example_partner(work, host, port, ca, cert)
    concurrency(work, host, port, ca, cert)
    openapi_examples(alpha, work)
    for c in (alpha, bravo, charlie, stranger):
        c.close()


def exchange(host, port, ctx, request):
    """Sends raw request bytes over a fresh TLS connection; the status and the problem (or body) of
    the first answer, read until the broker closes the connection or the answer is complete."""
    with socket.create_connection((host, port), timeout=HANG) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            try:
                s.sendall(request)
            except OSError:
                pass  # the broker may answer and close before it took all of a refused body
            answer = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except (ssl.SSLError, OSError):
                    break
                if not chunk:
                    break
                answer += chunk
                head, _, body = answer.partition(b"\r\n\r\n")
                length = re.search(rb"Content-Length: (\d+)", head)
                if length and len(body) >= int(length.group(1)):
                    break
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
    try:
        return status, json.loads(body) if body else None, answer
    except ValueError:
        return status, None, answer


def chunked_bodies(work, host, port, ca, cert, url):
    """Transfer-Encoding: chunked (RFC 9112 §7.1): with curl, by hand with extensions and trailers
    and a request after it, oversize (413 at the chunk that crosses the limit) and malformed (400
    naming the problem)."""
    ctx = ssl.create_default_context(cafile=ca.crt)
    ctx.load_cert_chain(*cert["ALPHA"])
    m = message()
    path = os.path.join(work, "chunked.json")
    with open(path, "w") as f:
        json.dump(m, f)
    r = curl(url[:-4] + ["-v", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + path, "-w", "\n%{http_code}"],
             ca.crt, cert["ALPHA"])
    body, _, code = r.stdout.rpartition("\n")
    check("> Transfer-Encoding: chunked" in r.stderr, "curl sends the body chunked (its request shows the header)")
    check(code == "201" and json.loads(body or "{}").get("message_id") == m["message_id"],
          "curl -H 'Transfer-Encoding: chunked' --data-binary @file: 201 with the message's receipt (%s %s)" % (code, body[:200]))
    # 200 kB in curl's chunks against max_body_bytes 64 KiB: 413 at the chunk that crosses it.
    big = os.path.join(work, "chunked-big.json")
    with open(big, "w") as f:
        json.dump(message(payload=dict(NOTICE, note="z" * 200000)), f)
    r = curl(url[:5] + ["-H", "Transfer-Encoding: chunked", "-H", "Expect:", "--data-binary", "@" + big, "-o", "/dev/null",
                        "-w", "%{http_code}"], ca.crt, cert["ALPHA"])
    check(r.stdout == "413", "curl sending 200 kB chunked: 413 (%s %s)" % (r.stdout, r.stderr[-120:]))

    # By hand: chunk extensions, a trailer, and a second request on the same connection after it.
    payload = json.dumps(message()).encode()
    half = len(payload) // 2
    with socket.create_connection((host, port), timeout=HANG) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n%x;part=one\r\n%s\r\n%X\r\n%s\r\n0\r\nX-Checksum: none\r\n\r\n"
                      b"GET /v1/contracts HTTP/1.1\r\nHost: x\r\n\r\n"
                      % (half, payload[:half], len(payload) - half, payload[half:]))
            answers = b""
            while answers.count(b"HTTP/1.1 ") < 2 or not answers.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                answers += chunk
    check(answers.startswith(b"HTTP/1.1 201") and b"HTTP/1.1 200" in answers[12:],
          "a chunked body with an extension and a trailer: 201, and the request after it on the same connection: 200 (%r)"
          % answers[:40])

    # A 100 MB chunk declared: 413 from its size line, having read none of it.
    status, problem, _ = exchange(host, port, ctx, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                  b"Transfer-Encoding: chunked\r\n\r\n5F5E100\r\n{\"message_id\":")
    check(status == 413 and problem["code"] == "too_large" and "65536" in problem["detail"],
          "a chunk of 100 MB declared: 413 too_large while 14 bytes of it were sent (%s %s)" % (status, problem))
    hostile = [
        (b"zz\r\n{}\r\n0\r\n\r\n", 400, "not hexadecimal", "a chunk size that is not hex"),
        (b"-2\r\n{}\r\n0\r\n\r\n", 400, "not hexadecimal", "a negative chunk size"),
        (b"FFFFFFFFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n", 413, "limit", "a chunk size past 64 bits"),
        (b"2\r\n{}}}\r\n0\r\n\r\n", 400, "CRLF", "more data than the chunk size"),
        (b"2\n{}\r\n0\r\n\r\n", 400, "CRLF", "a size line ending in a bare LF"),
        (b"2 x\r\n{}\r\n0\r\n\r\n", 400, "followed by", "garbage after the chunk size"),
    ]
    for framing, want, names, what in hostile:
        status, problem, _ = exchange(host, port, ctx, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
                                      b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + framing)
        check(status == want and names in (problem or {}).get("detail", ""),
              "%s: %d naming the problem (%s %s)" % (what, want, status, problem))
    status, problem, _ = exchange(host, port, ctx, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                  b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    check(status == 400 and "both" in problem["detail"], "Transfer-Encoding and Content-Length together: 400 (%s)" % status)
    status, problem, _ = exchange(host, port, ctx, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                  b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
    check(status == 501 and problem["code"] == "not_implemented", "Transfer-Encoding gzip: 501 not_implemented (%s)" % status)


def metrics_checks(host, port, metrics_at, ca, cert, wrong_ca, expired, revoked):
    """The keten_https_* metrics on /metrics move by exactly what this does (nothing else talks to
    the broker meanwhile)."""
    def open_connections(want):
        deadline = time.time() + 30
        value = None
        while time.time() < deadline:
            value = metric(scrape(metrics_at), "keten_https_connections_open")
            if value == want:
                break
            time.sleep(0.1)
        return value

    got = open_connections(0)
    check(got == 0, "keten_https_connections_open is 0 once every client closed (%s)" % got)
    before = scrape(metrics_at)
    ctx = ssl.create_default_context(cafile=ca.crt)
    ctx.load_cert_chain(*cert["ALPHA"])
    alpha = Client(host, port, ca.crt, cert["ALPHA"])
    for _ in range(3):
        alpha.request("GET", "/v1/contracts")
    alpha.request("GET", "/v1/contracts/test.notice/1")
    alpha.request("GET", "/v1/contracts/test.notice/9")
    alpha.request("POST", "/v1/messages", message())
    alpha.request("POST", "/v1/messages", message(payload={"location": "MOON"}))
    alpha.request("POST", "/v1/deliveries/999999999/ack")
    alpha.request("GET", "/not/v1/at/all")
    exchange(host, port, ctx, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n{")
    for c in (wrong_ca, expired, revoked, None):
        handshake_refused(host, port, ca.crt, c)
    handshake_refused(host, port, ca.crt, cert["ALPHA"], ssl.TLSVersion.TLSv1_1)
    held = [Client(host, port, ca.crt, cert["BRAVO"]) for _ in range(3)]
    for c in held:
        c.request("GET", "/v1/contracts")
    got = open_connections(4)
    check(got == 4, "keten_https_connections_open: 4 with four clients kept alive (%s)" % got)
    after = scrape(metrics_at)

    def requests(route, method, status):
        return moved(before, after, "keten_https_requests_total", route=route, method=method, status=str(status))

    expected = [("/v1/contracts", "GET", 200, 6), ("/v1/contracts/{name}/{version}", "GET", 200, 1),
                ("/v1/contracts/{name}/{version}", "GET", 404, 1), ("/v1/messages", "POST", 201, 1),
                ("/v1/messages", "POST", 400, 1), ("/v1/deliveries/{id}/ack", "POST", 404, 1),
                ("other", "GET", 404, 1), ("unread", "other", 413, 1)]
    for route, method, status, n in expected:
        got = requests(route, method, status)
        check(got == n, "keten_https_requests_total{route=%s,method=%s,status=%d} moved by %d (%s)" % (route, method, status, n, got))
    total = sum(v for (name, _), v in after.items() if name == "keten_https_requests_total") - \
        sum(v for (name, _), v in before.items() if name == "keten_https_requests_total")
    check(total == 13, "and nothing else was counted: 13 requests in all (%s)" % total)
    got = moved(before, after, "keten_https_request_seconds_count", route="/v1/contracts")
    check(got == 6, "keten_https_request_seconds observed the six GET /v1/contracts (%s)" % got)
    got = moved(before, after, "keten_https_request_seconds_bucket", route="/v1/contracts", le="+Inf")
    check(got == 6, "and its +Inf bucket counts them (%s)" % got)
    for kind in ("unknown_ca", "expired", "revoked", "no_certificate", "protocol"):
        got = moved(before, after, "keten_https_handshakes_refused_total", kind=kind)
        check(got == 1, "keten_https_handshakes_refused_total{kind=%s} moved by 1 (%s)" % (kind, got))
    got = moved(before, after, "keten_https_handshakes_refused_total", kind="other")
    check(got == 0, "no refusal counted as other (%s)" % got)
    alpha.close()
    for c in held:
        c.close()
    got = open_connections(0)
    check(got == 0, "keten_https_connections_open back to 0 when they close (%s)" % got)


def max_connections(work, server, ca, cert, crl):
    """A broker with max_connections = 4: four held connections, three more closed at once, the
    four still served on the same connections, ZeroMQ messages flowing meanwhile, the refusals
    counted, and a freed slot taken again."""
    config = os.path.join(work, "four.toml")
    write_config(config, "four/keten.db", "", server, ca, cert, crl, api_extra="max_connections = 4\n")
    broker, endpoint, host, port, metrics_at = start_broker(config)
    profiles = {}
    for partner in ("ALPHA", "CHARLIE"):
        profiles[partner] = os.path.join(work, "four-%s.toml" % partner)
        with open(profiles[partner], "w") as f:
            f.write('broker = "%s"\nbroker_public_key = "keys/broker.public"\npartner = "%s"\n'
                    'secret_key = "keys/%s.secret"\n' % (endpoint, partner, partner))
    ctx = ssl.create_default_context(cafile=ca.crt)
    ctx.load_cert_chain(*cert["ALPHA"])
    held = []
    try:
        before = scrape(metrics_at)
        for _ in range(4):
            conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=HANG)
            conn.request("GET", "/v1/contracts")
            r = conn.getresponse()
            r.read()
            held.append((conn, conn.sock, r.status))
        check([h[2] for h in held] == [200] * 4, "four connections up to max_connections = 4 are served")
        refused = [handshake_refused(host, port, ca.crt, cert["ALPHA"]) for _ in range(3)]
        check(refused == [True] * 3, "three more connections are closed at once (%s)" % refused)
        # Meanwhile the ZeroMQ side: ALPHA sends five to CHARLIE with the keten CLI.
        payload = os.path.join(work, "notice.json")
        with open(payload, "w") as f:
            json.dump(NOTICE, f)
        sent = []
        for _ in range(5):
            mid = str(uuid.uuid4())
            r = subprocess.run([keten, "send", "--profile", profiles["ALPHA"], "--contract", "test.notice",
                                "--case", "9990012345", "--to", "CHARLIE", "--id", mid, payload],
                               capture_output=True, text=True, timeout=HANG)
            if r.returncode == 0:
                sent.append(mid)
        r = subprocess.run([keten, "recv", "--profile", profiles["CHARLIE"], "--max", "1000", "--wait", "5"],
                           capture_output=True, text=True, timeout=HANG)
        received = {json.loads(line)["message_id"] for line in r.stdout.splitlines() if line.strip()}
        check(len(sent) == 5 and set(sent) <= received,
              "with the HTTPS connections at their limit, ZeroMQ submits and deliveries go on (%d sent, %d received)"
              % (len(sent), len(set(sent) & received)))
        for conn, sock, _ in held:
            conn.request("POST", "/v1/messages", body=json.dumps(message()), headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            check(r.status == 201 and conn.sock is sock, "a held connection still submits, on the same connection (%d)" % r.status)
        after = scrape(metrics_at)
        got = moved(before, after, "keten_https_connections_refused_total", reason="max_connections")
        check(got == 3, "keten_https_connections_refused_total{reason=max_connections} moved by 3 (%s)" % got)
        check(metric(after, "keten_https_connections_open") == 4, "keten_https_connections_open is 4")
        held[0][0].close()
        deadline, taken = time.time() + 30, False
        while not taken and time.time() < deadline:
            taken = not handshake_refused(host, port, ca.crt, cert["ALPHA"])
            if not taken:
                time.sleep(0.2)
        check(taken, "a connection closed by its client frees its slot for a new one")
    finally:
        for conn, _, _ in held:
            conn.close()
        broker.terminate()
        broker.wait(timeout=HANG)


def example_partner(work, host, port, ca, cert):
    """examples/https-partner/curl-partner.sh: ALPHA sends a folder, BRAVO receives and acks."""
    script = os.path.join(source_dir, "examples", "https-partner", "curl-partner.sh")
    outbox, inbox = os.path.join(work, "outbox"), os.path.join(work, "inbox")
    os.makedirs(outbox)
    good, bad = message(), message(payload={"location": "MOON"})
    for name, m in (("good.json", good), ("bad.json", bad)):
        with open(os.path.join(outbox, name), "w") as f:
            json.dump(m, f)
    env = dict(os.environ, KETEN_URL="https://localhost:%d" % port, KETEN_CA=ca.crt, WAIT="3")
    # curl checks the server's name: localhost resolves to the listener's address here.
    send = subprocess.run([script, "send", outbox], capture_output=True, text=True, timeout=HANG,
                          env=dict(env, KETEN_CERT=cert["ALPHA"][0], KETEN_KEY=cert["ALPHA"][1]))
    check(send.returncode == 1 and os.path.exists(os.path.join(outbox, "sent", "good.json")),
          "curl-partner.sh send: the good file sent, exit 1 for the refused one (%d %s)" % (send.returncode, send.stderr[-200:]))
    problem_path = os.path.join(outbox, "refused", "bad.problem.json")
    check(os.path.exists(problem_path) and json.load(open(problem_path))["code"] == "schema_violation",
          "curl-partner.sh send: the refused file and its problem beside it")
    recv = subprocess.run([script, "receive", inbox], capture_output=True, text=True, timeout=HANG,
                          env=dict(env, KETEN_CERT=cert["BRAVO"][0], KETEN_KEY=cert["BRAVO"][1]))
    ids = set()
    for name in os.listdir(inbox) if os.path.isdir(inbox) else []:
        with open(os.path.join(inbox, name)) as f:
            ids.update(d["message_id"] for d in json.load(f)["deliveries"])
    check(recv.returncode == 0 and good["message_id"] in ids,
          "curl-partner.sh receive: BRAVO writes the delivery to its inbox and acks it (%d %s)" % (recv.returncode, recv.stderr[-200:]))
    status, _, body = Client(host, port, ca.crt, cert["BRAVO"]).request("GET", "/v1/deliveries?max=1000&wait=0")
    check(status == 200 and good["message_id"] not in {d["message_id"] for d in body["deliveries"]},
          "what the script acked is not offered again")


def concurrency(work, host, port, ca, cert):
    """100 concurrent HTTPS submits and 20 stalled clients while a ZeroMQ partner's messages flow."""
    stalled = []
    ctx = ssl.create_default_context(cafile=ca.crt)
    ctx.load_cert_chain(*cert["ALPHA"])
    for _ in range(20):
        raw = socket.create_connection((host, port), timeout=HANG)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{")  # and nothing more
        stalled.append(s)
    results = []

    def one():
        c = Client(host, port, ca.crt, cert["ALPHA"])
        try:
            results.append(c.request("POST", "/v1/messages", message())[0])
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            results.append(repr(e))
        c.close()

    threads = [threading.Thread(target=one) for _ in range(100)]
    for t in threads:
        t.start()
    # Meanwhile a ZeroMQ partner (CurveZMQ, the `keten` CLI) sends 20 messages that CHARLIE receives.
    payload = os.path.join(work, "notice.json")
    with open(payload, "w") as f:
        json.dump(NOTICE, f)
    sent = []
    for _ in range(20):
        mid = str(uuid.uuid4())
        r = subprocess.run([keten, "send", "--profile", os.path.join(work, "ALPHA.toml"), "--contract", "test.notice",
                            "--case", "9990012345", "--to", "CHARLIE", "--id", mid, payload],
                           capture_output=True, text=True, timeout=HANG)
        if r.returncode == 0:
            sent.append(mid)
    r = subprocess.run([keten, "recv", "--profile", os.path.join(work, "CHARLIE.toml"), "--max", "1000", "--wait", "10"],
                       capture_output=True, text=True, timeout=HANG)
    received = {json.loads(line)["message_id"] for line in r.stdout.splitlines() if line.strip()}
    check(len(sent) == 20, "the ZeroMQ partner's 20 submits are accepted while 120 HTTPS clients are busy (%d)" % len(sent))
    check(set(sent) <= received, "CHARLIE receives them over ZeroMQ (%d of 20)" % len(set(sent) & received))
    for t in threads:
        t.join(HANG)
    check(results.count(201) == 100, "100 concurrent HTTPS submits all accepted (%s)" % sorted(set(map(str, results))))
    for s in stalled:
        s.close()


def openapi_examples(alpha, work):
    """The OpenAPI document passes a validator (when one is installed) and its examples run."""
    doc_path = os.path.join(source_dir, "docs", "openapi.json")
    with open(doc_path) as f:
        doc = json.load(f)
    validator = None
    for python in ("/usr/bin/python3", shutil.which("python3") or ""):
        if python and subprocess.run([python, "-c", "import openapi_spec_validator"], capture_output=True).returncode == 0:
            validator = python
            break
    if validator:
        r = subprocess.run([validator, "-c", "import json,sys\nfrom openapi_spec_validator import validate\n"
                            "validate(json.load(open(sys.argv[1])))", doc_path], capture_output=True, text=True)
        check(r.returncode == 0, "openapi-spec-validator accepts docs/openapi.json: " + r.stderr[-300:])
    else:
        print("note: openapi_spec_validator not installed; the document is checked for structure only")
    check(doc["openapi"].startswith("3.0") and doc["info"]["version"] == "1.1.0", "OpenAPI 3.0, version 1.1.0")
    # Every example: run it and expect an answer the document lists for that operation.
    for path, item in doc["paths"].items():
        for method, op in item.items():
            params = {p["name"]: p.get("example") for p in op.get("parameters", []) if "name" in p}
            for ref in op.get("parameters", []):
                if "$ref" in ref:
                    p = doc["components"]["parameters"][ref["$ref"].rsplit("/", 1)[1]]
                    params[p["name"]] = p.get("example")
            url = path
            for name, value in params.items():
                url = url.replace("{%s}" % name, str(value))
            query = [(n, v) for n, v in params.items() if "{%s}" % n not in path and v is not None]
            if query:
                url += "?" + "&".join("%s=%s" % q for q in query)
            bodies = [None]
            content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "examples" in content:
                bodies = [e["value"] for e in content["examples"].values()]
            elif "example" in content:
                bodies = [content["example"]]
            for body in bodies:
                status, headers, _ = alpha.request(method.upper(), url, body)
                check(str(status) in op["responses"], "example %s %s: %d is a documented answer" % (method.upper(), url, status))
                check(headers.get("API-Version") == "1.1.0", "example %s %s: API-Version" % (method.upper(), url))


def log_checks(store):
    """The handover log's accepted events for HTTPS submits record the origin and the assurance."""
    rows = [(r["sender"], r["detail"]) for r in log_rows(keten, store) if r["event"] == "accepted"]
    https = [json.loads(d) for s, d in rows if '"https:' in d]
    check(len(https) >= 100, "the accepted events of HTTPS submits are in the log (%d)" % len(https))
    check(all(d.get("origin", "").startswith("https:oin=%s;serial=" % OIN["ALPHA"]) and d.get("assurance") == "https"
              for d in https), "each records origin https:oin=...;serial=...;sha256=... and assurance https")
    zmq_rows = [json.loads(d) for s, d in rows if '"https:' not in d and s == "ALPHA"]
    check(zmq_rows and all(d.get("assurance") == "chain-partner" for d in zmq_rows),
          "ZeroMQ submits keep assurance chain-partner")


if __name__ == "__main__":
    sys.exit(main())
