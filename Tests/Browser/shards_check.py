#!/usr/bin/env python3
"""Watches an estate instance's dashboard show which instance holds each shard, in Debian's headless
chromium, while the caller (the Swift estate test) kills an instance.

Waits until the page's shard table shows every holder in --first (shard=instance,...), writes
DIR/first-seen, then waits until it shows every holder in --then (and, with --then-alert, an open alert
of that scope, judged by another instance), and reports what the page showed at each step as JSON, with
script exceptions and console errors. The caller decides what is right.

usage: shards_check.py URL --token TOKEN --first s-b1=estate-a,... --then s-b1=estate-c,... --handover DIR
                       --screenshots DIR [--then-alert SCOPE] [--timeout SECONDS]
"""
import argparse
import json
import os
import sys

from dashboard_check import BrowserError, close_browser, open_dashboard, print_report

SHARDS = """(() => ({
  shown: !document.getElementById('shard-section').hidden,
  heading: document.querySelector('#shard-section h2').textContent,
  holders: Object.fromEntries([...document.querySelectorAll('#shards tbody tr')].map(r => [r.dataset.shard, r.dataset.holder])),
  rows: [...document.querySelectorAll('#shards tbody tr')].map(r => [...r.children].map(c => c.textContent)),
  answered: document.getElementById('shard-answered').textContent,
  alertScopes: [...document.querySelectorAll('#alerts tbody tr')].map(r => r.children[1].textContent),
  scriptErrors: document.getElementById('script-errors').textContent.trim(),
}))()"""


def holders(text):
    return dict(pair.split("=", 1) for pair in text.split(","))


def showing(expected):
    checks = " && ".join(
        f"(document.querySelector('#shards tbody tr[data-shard={json.dumps(shard)}]') || {{dataset: {{}}}}).dataset.holder === {json.dumps(instance)}"
        for shard, instance in expected.items())
    # (Before the dashboard has loaded, the page is still about:blank.)
    return f"!!document.getElementById('shard-section') && !document.getElementById('shard-section').hidden && {checks}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--token", default="")
    parser.add_argument("--first", required=True)
    parser.add_argument("--then", required=True)
    parser.add_argument("--handover", required=True, help="a folder: first-seen is written there")
    parser.add_argument("--then-alert", help="the scope of an open alert the page must show too at the second step")
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    try:
        browser, profile, page = open_dashboard(args.url, args.token)
    except BrowserError as error:
        print(json.dumps({"error": str(error)}))
        return 2
    try:
        result = {"firstSeen": page.wait_for(showing(holders(args.first)), args.timeout)}
        result["first"] = page.evaluate(SHARDS)
        page.screenshot(os.path.join(args.screenshots, "estate-shards-before.png"))
        with open(os.path.join(args.handover, "first-seen"), "w") as file:
            file.write("seen\n")
        then = showing(holders(args.then))
        if args.then_alert:
            then += f" && [...document.querySelectorAll('#alerts tbody tr')].some(r => r.children[1].textContent === {json.dumps(args.then_alert)})"
        result["thenSeen"] = page.wait_for(then, args.timeout)
        result["then"] = page.evaluate(SHARDS)
        page.screenshot(os.path.join(args.screenshots, "estate-shards-after.png"))
        print_report(page, result)
        return 0
    finally:
        close_browser(browser, profile)


if __name__ == "__main__":
    sys.exit(main())
