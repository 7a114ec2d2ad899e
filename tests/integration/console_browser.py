#!/usr/bin/python3
"""Drives `keten console` in Debian's headless chromium over the DevTools protocol (python3-websocket).

Run by tests/integration/console_test.cpp against a console it started on a real broker's store:
logs in as the operator, finds the dead letter, resends it and reads the new message id off the
result; logs in as an inspector, sees no resend button and gets 403 when posting one anyway; moves
the case page's time slider and sees what the partner knew change; takes screenshots at 1280 and
390 px wide and checks that no page is wider than a 390 px screen. Prints
{"new_message_id": ...} last; exits 1 naming the first check that failed.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

TIMEOUT = 90  # seconds; only bounds a hang (the machine may be busy)


class Failed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failed(what)


class Browser:
    """One headless chromium with one page, spoken to over the DevTools websocket."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="keten-chromium-")
        self.proc = subprocess.Popen(
            ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--remote-debugging-port=0", "--remote-allow-origins=*", "--hide-scrollbars",
             "--user-data-dir=" + self.profile, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + TIMEOUT
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            check(time.time() < deadline, "chromium wrote no DevToolsActivePort")
            check(self.proc.poll() is None, "chromium exited at start")
            time.sleep(0.1)
        with open(port_file) as f:
            port = int(f.readline())
        pages = []
        while not pages:
            check(time.time() < deadline, "chromium shows no page target")
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=TIMEOUT) as r:
                pages = [t for t in json.load(r) if t["type"] == "page"]
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=TIMEOUT,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Network.enable")

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.kill()
            self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == my_id:
                check("error" not in message, "%s failed: %s" % (method, message.get("error")))
                return message.get("result", {})
            self.events.append(message)

    def wait_load(self):
        """Waits for the next page load (Page.loadEventFired), keeping other events."""
        deadline = time.time() + TIMEOUT
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == "Page.loadEventFired":
                    seen = self.events[: i + 1]
                    del self.events[: i + 1]
                    return seen
            check(time.time() < deadline, "no page load")
            self.events.append(json.loads(self.ws.recv()))

    def loads(self, action):
        """Runs `action` (which makes the page navigate) and waits for the new page."""
        self.events.clear()
        action()
        return self.wait_load()

    def goto(self, url):
        self.loads(lambda: self.call("Page.navigate", url=url))

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        check("exceptionDetails" not in result, "script failed: %s: %s" % (expression, result.get("exceptionDetails")))
        return result["result"].get("value")

    def width(self, width):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=900 if width > 600 else 844,
                  deviceScaleFactor=1, mobile=width < 600)

    def screenshot(self, path):
        """The page from its top down to its content's end (at most 1400 px tall)."""
        width = self.js("window.innerWidth")
        height = min(1400, self.js("Math.max(document.body.scrollHeight, 200)"))
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


def login(b, url, token):
    b.goto(url + "/logout")
    check(b.js("location.pathname") == "/login", "logout did not lead to the login form")
    b.loads(lambda: b.js("document.querySelector('input[name=token]').value = %s; "
                         "document.querySelector('form').submit()" % json.dumps(token)))
    check(b.js("location.pathname") == "/partners", "login did not lead to the partners page")


def give_purpose(b, purpose):
    check(b.js("!!document.getElementById('purpose')"), "a case-data page did not ask for the purpose")
    b.loads(lambda: b.js("document.getElementById('purpose').value = %s; document.getElementById('purpose').form.submit()"
                         % json.dumps(purpose)))


def layout(b, name, out):
    """Screenshots at 1280 and 390 px; at 390 the page must not be wider than the screen."""
    for width in (1280, 390):
        b.width(width)
        b.js("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        b.screenshot(os.path.join(out, "%s-%d.png" % (name, width)))
        if width == 390:
            scroll = b.js("document.documentElement.scrollWidth")
            check(scroll <= 390, "%s is %d px wide on a 390 px screen" % (name, scroll))
    b.width(1280)


def page_through(b, url, rows_js, name, out):
    """Follows the list's "Older" links from `url` to the last page; returns every row's key, in order,
    and the number of pages. Screenshots the first page's paging controls at 1280 and 390 px."""
    b.goto(url)
    keys, pages = [], 0
    while True:
        pages += 1
        check(pages <= 50, "%s: the pager does not end" % name)
        keys += b.js(rows_js)
        if pages == 1:
            check(b.js("!!document.getElementById('next-page')"), "%s: no link to the next page" % name)
            layout(b, name, out)
            # On a phone the "Older" link is on the screen, not pushed out sideways.
            b.width(390)
            right = b.js("document.getElementById('next-page').getBoundingClientRect().right")
            check(0 < right <= 390, "%s: the next-page link ends at %s px on a 390 px screen" % (name, right))
            b.width(1280)
        if not b.js("!!document.getElementById('next-page')"):
            break
        b.loads(lambda: b.js("document.getElementById('next-page').click()"))
        check(b.js("!!document.getElementById('first-page')"), "%s: a later page has no link to the first" % name)
    return keys, pages


def check_paging(b, base, path, rows_js, name, out):
    """Paged one row a page, the list holds each row of the unpaged list exactly once, in its order."""
    b.goto(base + path)
    whole = b.js(rows_js)
    keys, pages = page_through(b, base + path + ("&" if "?" in path else "?") + "per=1", rows_js, name, out)
    check(len(whole) > 1 and pages == len(whole),
          "%s: %d rows came on %d pages of one" % (name, len(whole), pages))
    check(len(set(keys)) == len(keys), "%s: a row was shown twice while paging: %s" % (name, keys))
    check(keys == whole, "%s: paging showed %s, the whole list is %s" % (name, keys, whole))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--operator-token", required=True)
    p.add_argument("--inspector-token", required=True)
    p.add_argument("--case", required=True)
    p.add_argument("--dead-message", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    b = Browser()
    try:
        b.width(1280)
        # The operator finds the dead letter and resends it.
        login(b, a.url, a.operator_token)
        check(b.js("!!document.querySelector('tr[data-partner=BRAVO]')"), "BRAVO is not on the partners page")
        layout(b, "partners", a.out)
        b.goto(a.url + "/dead-letters")
        give_purpose(b, "browser test: stuck notice")
        row = "tr[data-message='%s']" % a.dead_message
        check(b.js("!!document.querySelector(%s)" % json.dumps(row)), "the dead letter is not listed")
        layout(b, "dead-letters", a.out)
        b.loads(lambda: b.js("document.querySelector(%s).querySelector('button.resend-one').click()" % json.dumps(row)))
        status = b.js("document.querySelector('#resend-result td.status').textContent")
        check(status == "accepted", "the resend was %s" % status)
        new_id = b.js("document.querySelector('#resend-result a.new-message').textContent")
        check(bool(new_id), "no new message id after the resend")
        b.goto(a.url + "/messages/" + new_id)
        check(b.js("document.querySelector('#header').textContent").find("resend of") >= 0,
              "the new message does not say it re-sends the original")
        layout(b, "message", a.out)
        # Its events with their proofs against the latest signed checkpoint, each with its download.
        check(b.js("document.getElementById('checkpoint').dataset.signed") == "ok",
              "the message page does not show the checkpoint's signature as verified")
        check(b.js("document.querySelectorAll('#events td.proof[data-proof=verified] a.proof-json').length") >= 1,
              "no event of the new message shows a verified proof with its download link")

        # Paging: one row a page, each row of the list exactly once (the new message makes three).
        check_paging(b, a.url, "/messages",
                     "Array.from(document.querySelectorAll('#messages tbody a[href^=\"/messages/\"] code'))"
                     ".map(e => e.textContent)", "messages-paged", a.out)
        check_paging(b, a.url, "/partners",
                     "Array.from(document.querySelectorAll('#partners tr[data-partner]')).map(e => e.dataset.partner)",
                     "partners-paged", a.out)

        # An inspector: no resend button, and the POST is refused.
        login(b, a.url, a.inspector_token)
        b.goto(a.url + "/dead-letters")
        give_purpose(b, "browser test: inspection")
        check(b.js("document.querySelectorAll('button.resend-one, #resend-all').length") == 0,
              "an inspector is shown resend buttons")
        # The page's policy allows no fetch(), so post a form as a crafted page would.
        seen = b.loads(lambda: b.js(
            "var f = document.createElement('form'); f.method = 'post'; f.action = '/dead-letters/resend'; "
            "var i = document.createElement('input'); i.name = 'all'; i.value = '1'; f.appendChild(i); "
            "document.body.appendChild(f); f.submit()"))
        codes = [e["params"]["response"]["status"] for e in seen if e.get("method") == "Network.responseReceived"
                 and e["params"]["response"]["url"].endswith("/dead-letters/resend")]
        check(codes == [403], "an inspector's resend POST got %s" % codes)
        check("Only an operator may resend" in b.js("document.body.textContent"), "the 403 page does not say why")

        # The slider: as BRAVO, at the start nothing received, at the end the notice.
        b.goto(a.url + "/cases?case=%s&partner=BRAVO" % a.case)
        received_now = int(b.js("document.getElementById('knowledge').dataset.received"))
        check(received_now >= 1, "BRAVO received nothing of the case by now")
        layout(b, "case", a.out)
        b.loads(lambda: b.js("var s = document.getElementById('slider'); s.value = 0; "
                             "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change'))"))
        check("as_of=" in b.js("location.search"), "moving the slider did not reload the view at a moment")
        received_then = int(b.js("document.getElementById('knowledge').dataset.received"))
        check(received_then < received_now,
              "moving the slider back did not change what BRAVO knew (%d then, %d now)" % (received_then, received_now))
        b.width(390)
        b.screenshot(os.path.join(a.out, "case-slider-390.png"))
        b.width(1280)
        b.screenshot(os.path.join(a.out, "case-slider-1280.png"))
        b.loads(lambda: b.js("var s = document.getElementById('slider'); s.value = s.max; "
                             "s.dispatchEvent(new Event('change'))"))
        check(int(b.js("document.getElementById('knowledge').dataset.received")) == received_now,
              "moving the slider to the end did not show everything BRAVO received")
        # The case list: the case is there, and its link opens it.
        b.goto(a.url + "/cases")
        row = "#cases tr[data-case='%s'] a" % a.case
        check(b.js("!!document.querySelector(%s)" % json.dumps(row)), "the case is not in the case list")
        layout(b, "cases", a.out)
        b.loads(lambda: b.js("document.querySelector(%s).click()" % json.dumps(row)))
        check(b.js("!!document.getElementById('slider')"), "the case list's link does not open the case")
        b.goto(a.url + "/quality")
        layout(b, "quality", a.out)
        b.goto(a.url + "/contracts")
        layout(b, "contracts", a.out)
    except Failed as e:
        print("console_browser: FAILED: %s" % e, file=sys.stderr)
        try:
            b.screenshot(os.path.join(a.out, "failure.png"))
            print("page: %s" % b.js("location.href"), file=sys.stderr)
        except Exception:  # the failure itself is what matters
            pass
        return 1
    finally:
        b.close()
    print(json.dumps({"new_message_id": new_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
