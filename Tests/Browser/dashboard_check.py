#!/usr/bin/env python3
"""Loads the Storey dashboard in Debian's headless chromium and reports what it rendered, as JSON.

Drives chromium over the DevTools protocol (no browser download): waits until the tower and the tenant
table are drawn and filled, shows a space's detail, sorts the table, switches the language, saves a
screenshot in each language, and collects script exceptions and console errors. The caller (the Swift
integration test) decides what is right; this script only looks.

With --admin-token it acknowledges the first firing alert as an operator would: clicks its acknowledge
control with the read token (refused: the page asks for an admin token), enters the admin token in the
page's token form, clicks again, and waits for the row to show it acknowledged; with --outages it writes
the alert's fingerprint to DIR/acknowledged for the caller to ask the API, waits for DIR/asked, and opens
the alert's link (URL/alerts/FINGERPRINT, as notifications carry it) in a second tab.

With --outages DIR it then watches the page through two outages the caller causes: it writes
DIR/broker-outage and waits for the broker banner to say the broker is down; with no readings arriving,
the figures hold still, so it then sorts the tenant table by gap to target (ascending, then descending)
and writes DIR/gap-sorted for the caller to read the API's gaps of the same figures; then it writes
DIR/stream-outage and waits for the stream banner to say the stream is down (the caller stops the broker,
then storeyd).

usage: dashboard_check.py URL --token TOKEN --screenshots DIR [--timeout SECONDS] [--outages DIR]
                          [--admin-token TOKEN] [--alert-timeout SECONDS]
"""
import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # websocket-client (PyPI)


class Page:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.exceptions = []
        self.console_errors = []

    def call(self, method, **params):
        self.next_id += 1
        message_id = self.next_id
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.note(message)

    def note(self, message):
        method = message.get("method")
        if method == "Runtime.exceptionThrown":
            details = message["params"]["exceptionDetails"]
            self.exceptions.append(details.get("exception", {}).get("description") or details.get("text"))
        elif method == "Runtime.consoleAPICalled" and message["params"]["type"] == "error":
            self.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in message["params"]["args"]))
        elif method == "Log.entryAdded" and message["params"]["entry"]["level"] == "error":
            entry = message["params"]["entry"]
            self.console_errors.append(entry["text"] + (f" ({entry['url']})" if entry.get("url") else ""))

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(expression):
                return True
            time.sleep(0.25)
        return False

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))


SNAPSHOT = """(() => {
  const text = (selector) => { const e = document.querySelector(selector); return e ? e.textContent.trim() : null; };
  const rows = [...document.querySelectorAll('#tenants tbody tr')];
  return {
    lang: document.documentElement.lang,
    floors: document.querySelectorAll('#tower g.floor').length,
    floorLabels: [...document.querySelectorAll('#tower .floor-label')].map(e => e.textContent),
    spaces: document.querySelectorAll('#tower rect.space').length,
    vacantSpaces: document.querySelectorAll('#tower rect.space.vacant').length,
    colouredSpaces: [...document.querySelectorAll('#tower rect.space')].filter(e => e.dataset.share !== '').length,
    colourMode: document.getElementById('colour-mode').value,
    shares: Object.fromEntries([...document.querySelectorAll('#tower rect.space')].filter(e => e.dataset.share !== '').map(e => [e.dataset.space, Number(e.dataset.share)])),
    bases: [...document.querySelectorAll('#tower rect.space')].filter(e => e.dataset.basis).reduce((all, e) => { (all[e.dataset.basis] = all[e.dataset.basis] || []).push(e.dataset.space); return all; }, {}),
    legend: text('#legend'),
    tenantRows: rows.map(r => [...r.children].map(c => c.textContent)),
    tenantsHeading: text('#tenant-section h2'),
    towerHeading: text('#tower-section h2'),
    streamState: document.getElementById('stream-state').dataset.state || null,
    streamText: text('#stream-state'),
    brokerState: document.getElementById('broker-state').dataset.state || null,
    brokerText: text('#broker-state'),
    scriptErrors: text('#script-errors'),
    detailVisible: !document.getElementById('detail').hidden,
    detailTitle: text('#detail-title'),
    detailFigures: [...document.querySelectorAll('#detail-figures dd')].map(e => e.textContent),
    sparklinePoints: (document.querySelector('#sparkline polyline') || {getAttribute: () => ''}).getAttribute('points') || '',
    sortedColumn: (document.querySelector('#tenants th.sorted-asc, #tenants th.sorted-desc') || {dataset: {}}).dataset.sort || null,
    updated: text('#updated'),
    alertsHeading: text('#alert-section h2'),
    alertsShown: !document.getElementById('alerts-empty').hidden || document.querySelectorAll('#alerts tbody tr').length > 0,
    alertRows: document.querySelectorAll('#alerts tbody tr').length,
    historyTitle: document.getElementById('history-title').hidden ? null : text('#history-title'),
    historyItems: document.querySelectorAll('#alert-history li').length,
    shardsShown: !document.getElementById('shard-section').hidden,
  };
})()"""


TENANT_ORDER = """(() => ({
  sortedColumn: (document.querySelector('#tenants th.sorted-asc, #tenants th.sorted-desc') || {dataset: {}}).dataset.sort || null,
  direction: document.querySelector('#tenants th.sorted-asc') ? 'ascending' : (document.querySelector('#tenants th.sorted-desc') ? 'descending' : null),
  rows: [...document.querySelectorAll('#tenants tbody tr')].map(r => [r.dataset.tenant, r.children[6].textContent]),
}))()"""


class BrowserError(Exception):
    pass


def open_dashboard(url, token, language="en"):
    """Starts Debian's headless chromium and opens the dashboard at URL with TOKEN stored, as an operator
    would have it; returns (browser process, profile folder, page). Raises BrowserError."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise BrowserError("chromium is not installed (scripts/install-dependencies installs it)")
    profile = tempfile.mkdtemp(prefix="storey-chromium-")
    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={profile}",
         "--window-size=1400,1000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.time() + 30
        while time.time() < deadline and port is None:
            line = browser.stderr.readline()
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if match:
                port = int(match.group(1))
        if port is None:
            raise BrowserError("chromium did not open its DevTools port")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page_target = next(t for t in targets if t["type"] == "page")
        page = Page(page_target["webSocketDebuggerUrl"])
        page.port = port
        page.call("Runtime.enable")
        page.call("Log.enable")
        page.call("Page.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        # The token and the starting language, as an operator would have stored them.
        page.call("Page.addScriptToEvaluateOnNewDocument", source=(
            f"localStorage.setItem('storey-token', {json.dumps(token)}); localStorage.setItem('storey-language', {json.dumps(language)});"))
        page.call("Page.navigate", url=url)
        return browser, profile, page
    except BaseException:
        close_browser(browser, profile)
        raise


def close_browser(browser, profile):
    browser.terminate()
    try:
        browser.wait(timeout=10)
    except subprocess.TimeoutExpired:
        browser.kill()
    shutil.rmtree(profile, ignore_errors=True)


def print_report(page, result):
    """Prints RESULT as JSON with the page's script exceptions and console errors, late ones included
    (the protocol events still pending are read first)."""
    page.ws.settimeout(0.5)
    try:
        while True:
            page.note(json.loads(page.ws.recv()))
    except Exception:
        pass
    result["exceptions"] = page.exceptions
    result["consoleErrors"] = page.console_errors
    print(json.dumps(result, ensure_ascii=False))


def acknowledge(page, admin_token, timeout, outages, url):
    """Acknowledges the first firing alert through the page's own controls; returns what the page showed."""
    seen = {"firing": page.wait_for("document.querySelector('#alerts tbody tr.firing:not(.acknowledged) button') !== null", timeout)}
    if not seen["firing"]:
        return seen
    fingerprint = page.evaluate("document.querySelector('#alerts tbody tr.firing:not(.acknowledged)').dataset.fingerprint")
    seen["fingerprint"] = fingerprint
    row = f"document.querySelector('#alerts tbody tr[data-fingerprint={json.dumps(fingerprint)}]')"
    seen["buttonText"] = page.evaluate(f"{row}.querySelector('button').textContent")
    # With the read token the page is refused, and says an admin token is needed.
    page.evaluate(f"{row}.querySelector('button').click()")
    page.wait_for("document.getElementById('alert-message').textContent.length > 0", 20)
    seen["readTokenMessage"] = page.evaluate("document.getElementById('alert-message').textContent")
    seen["tokenFormShown"] = page.evaluate("!document.getElementById('token-form').hidden")
    # The operator enters the admin token in the form the page showed, and clicks again.
    page.evaluate(f"document.getElementById('token').value = {json.dumps(admin_token)}; document.getElementById('token-form').requestSubmit()")
    page.wait_for(f"document.getElementById('token-form').hidden && {row} !== null && {row}.querySelector('button') !== null", 20)
    page.evaluate(f"{row}.querySelector('button').click()")
    seen["acknowledged"] = page.wait_for(f"{row} !== null && {row}.classList.contains('acknowledged')", 20)
    seen["stateText"] = page.evaluate(f"{row} ? {row}.children[4].textContent : null")
    seen["buttonTextAfter"] = page.evaluate(f"{row} && {row}.querySelector('button') ? {row}.querySelector('button').textContent : null")
    seen["message"] = page.evaluate("document.getElementById('alert-message').textContent")
    if outages:
        with open(os.path.join(outages, "acknowledged.new"), "w") as file:
            file.write(fingerprint)
        os.replace(os.path.join(outages, "acknowledged.new"), os.path.join(outages, "acknowledged"))
        # Once the caller has counted the stream clients (one: this page), the link a notification carries
        # for this alert is opened in a second tab.
        deadline = time.time() + 30
        while not os.path.exists(os.path.join(outages, "asked")) and time.time() < deadline:
            time.sleep(0.1)
        seen["link"] = open_alert_link(page, url, fingerprint)
    return seen


def open_alert_link(page, url, fingerprint):
    """Opens URL/alerts/FINGERPRINT (the link in webhooks and mails) in a second tab of the same browser,
    which shares the first's stored token and language; reports what that page showed, and closes it."""
    link = url.rstrip("/") + "/alerts/" + fingerprint
    request = urllib.request.Request(f"http://127.0.0.1:{page.port}/json/new?{link}", method="PUT")
    target = json.load(urllib.request.urlopen(request, timeout=10))
    tab = Page(target["webSocketDebuggerUrl"])
    try:
        tab.call("Runtime.enable")
        title = "document.getElementById('history-title')"
        seen = {"shown": tab.wait_for(
            f"{title} && !{title}.hidden && {title}.dataset.fingerprint === {json.dumps(fingerprint)} && "
            "document.querySelectorAll('#alert-history li').length > 0 && document.querySelector('#alerts tbody tr.linked') !== null", 30)}
        seen["title"] = tab.evaluate(f"{title}.textContent")
        seen["items"] = tab.evaluate("[...document.querySelectorAll('#alert-history li')].map(li => li.textContent)")
        seen["linkedRow"] = tab.evaluate("(document.querySelector('#alerts tbody tr.linked') || {dataset: {}}).dataset.fingerprint || null")
        seen["exceptions"] = tab.exceptions
        return seen
    finally:
        tab.ws.close()
        urllib.request.urlopen(f"http://127.0.0.1:{page.port}/json/close/{target['id']}", timeout=10).read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--token", default="")
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--outages", help="a folder for the outage hand-over files (see above)")
    parser.add_argument("--admin-token", help="acknowledge the first firing alert with this token (see above)")
    parser.add_argument("--alert-timeout", type=float, default=120, help="how long to wait for a firing alert")
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)

    try:
        browser, profile, page = open_dashboard(args.url, args.token)
    except BrowserError as error:
        print(json.dumps({"error": str(error)}))
        return 2
    try:
        result = {}
        result["loaded"] = page.wait_for(
            "document.querySelectorAll('#tower rect.space').length > 0 && "
            "document.querySelectorAll('#tenants tbody tr').length > 0 && "
            "[...document.querySelectorAll('#tenants tbody tr td:nth-child(3)')].some(td => td.textContent !== '—') && "
            "document.getElementById('stream-state').dataset.state === 'up'", args.timeout)
        result["english"] = page.evaluate(SNAPSHOT)
        page.screenshot(os.path.join(args.screenshots, "dashboard-en.png"))

        # A space's detail, as a tap would show it (the first tenant's space).
        page.evaluate("document.querySelector('#tower rect.space:not(.vacant)').dispatchEvent(new MouseEvent('click', {bubbles: true}))")
        page.wait_for("document.getElementById('sparkline-caption').textContent.includes(':') || "
                      "document.getElementById('sparkline-caption').textContent.length > 0", 10)
        page.wait_for("document.querySelector('#sparkline polyline') !== null", 10)
        # A tenant's alert history, as a click on its row shows it.
        page.evaluate("document.querySelector('#tenants tbody tr').click()")
        page.wait_for("document.querySelectorAll('#alert-history li').length > 0", 10)
        # Sort the table by output density.
        page.evaluate("document.querySelector('#tenants th[data-sort=\"outputDensity\"]').click()")
        result["detail"] = page.evaluate(SNAPSHOT)

        # Switch the language.
        page.evaluate("document.getElementById('language').click()")
        page.wait_for("document.documentElement.lang === 'zh-CN'", 10)
        result["chinese"] = page.evaluate(SNAPSHOT)
        page.screenshot(os.path.join(args.screenshots, "dashboard-zh.png"))

        if args.admin_token:
            result["acknowledge"] = acknowledge(page, args.admin_token, args.alert_timeout, args.outages, args.url)

        if args.outages:
            # The broker goes away: the daemon's status event must reach the page and be said plainly.
            open(os.path.join(args.outages, "broker-outage"), "w").close()
            page.wait_for("document.getElementById('broker-state').dataset.state === 'down'", args.timeout)
            result["brokerDown"] = page.evaluate(SNAPSHOT)
            page.screenshot(os.path.join(args.screenshots, "dashboard-broker-down.png"))
            # No readings arrive now: once the page has loaded the figures again (its poll, or a closing
            # window), they hold still while it is sorted by gap to target and the caller asks the API.
            updated = page.evaluate("document.getElementById('updated').textContent")
            result["reloadedAfterBrokerDown"] = page.wait_for(
                f"document.getElementById('updated').textContent !== {json.dumps(updated)}", args.timeout)
            page.evaluate("document.querySelector('#tenants th[data-sort=\"gap\"]').click()")
            result["gapAscending"] = page.evaluate(TENANT_ORDER)
            page.evaluate("document.querySelector('#tenants th[data-sort=\"gap\"]').click()")
            result["gapDescending"] = page.evaluate(TENANT_ORDER)
            open(os.path.join(args.outages, "gap-sorted"), "w").close()
            # Then storeyd itself: the stream ends, and the page must say its figures may be stale.
            open(os.path.join(args.outages, "stream-outage"), "w").close()
            page.wait_for("document.getElementById('stream-state').dataset.state === 'down'", args.timeout)
            result["streamDown"] = page.evaluate(SNAPSHOT)

        print_report(page, result)
        return 0
    finally:
        close_browser(browser, profile)


if __name__ == "__main__":
    sys.exit(main())
