#!/usr/bin/env python3
"""`synmap web` in headless Chromium (Selenium) against a real collector.

web_fixture starts a synmap-collector filled with the query data set (one server named with a
hostile name); `synmap web` serves it on a free loopback port; the CLI (`synmap summary --format
tsv`) is the oracle for the table. Checks: every view loads with no console error; /summary rows
equal the CLI's tsv for three filter sets; the map has a node per named server and service;
clicking a node narrows the table; the hostile name is shown as text (no script runs);
POST is 405; the CSP header is present; a non-loopback --listen without TLS is refused.
Screenshots go to --out. Exit 77 (skipped) when Chromium, chromedriver or Selenium is missing.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SKIP = 77


def skip(why):
    print(f"SKIPPED: {why}")
    sys.exit(SKIP)


try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    skip("python3-selenium is not installed")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


class Web:
    """`synmap web` on a free loopback port, for the connection settings in `conn`."""

    def __init__(self, synmap, conn, env):
        self.proc = subprocess.Popen(
            [synmap, "web", "--listen", "127.0.0.1:0", "--utc"] + conn,
            stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stderr.readline()
        match = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
        if not match:
            self.proc.kill()
            raise RuntimeError(f"synmap web did not start: {line}{self.proc.stderr.read()}")
        self.url = match.group(1).rstrip("/")

    def stop(self):
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        check(self.proc.returncode == 0,
              f"synmap web exits 0 on SIGTERM (got {self.proc.returncode}) {err[-2000:]}")


def cli_rows(synmap, conn, env, params):
    args = [synmap, "summary", "--format", "tsv", "--utc"] + conn
    for name, value in params.items():
        args += [f"--{name}", value]
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    lines = out.splitlines()
    assert lines[0] == "count\tclient\tserver\tservice", lines[0]
    return [line.split("\t") for line in lines[1:]]


def table_rows(driver):
    return [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in driver.find_elements(By.CSS_SELECTOR, "table tbody tr")]


def console_errors(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def no_alert(driver):
    try:
        driver.switch_to.alert
        return False
    except NoAlertPresentException:
        return True


def load(driver, url, out_dir, shot):
    driver.get(url)
    WebDriverWait(driver, 15).until(
        expected_conditions.presence_of_element_located((By.TAG_NAME, "h1")))
    driver.save_screenshot(os.path.join(out_dir, shot))
    errors = console_errors(driver)
    check(not errors, f"{url} loads with no console error {errors}")
    check(no_alert(driver), f"{url} opens no alert")


def http(method, url):
    request = urllib.request.Request(url, method=method, data=b"x" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--synmap", required=True)
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if CHROMIUM is None or CHROMEDRIVER is None:
        skip("chromium or chromedriver is not installed")
    os.makedirs(args.out, exist_ok=True)
    started = time.monotonic()

    work = tempfile.mkdtemp(prefix="synmap-web-test-")
    env = {"PATH": "/usr/bin:/bin", "HOME": work}
    for name in ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"):
        if name in os.environ:
            env[name] = os.environ[name]
    settings_path = os.path.join(work, "fixture.json")
    fixture = subprocess.Popen([args.fixture, settings_path], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    web = None
    driver = None
    try:
        if fixture.stdout.readline().strip() != "ready":
            raise RuntimeError("web_fixture did not start")
        with open(settings_path) as f:
            settings = json.load(f)
        conn = ["--collector", settings["collector"], "--ca", settings["ca"],
                "--cert", settings["cert"], "--key", settings["key"]]
        hostile = settings["hostile_name"]

        refused = subprocess.run([args.synmap, "web", "--listen", "0.0.0.0:0"] + conn,
                                 capture_output=True, text=True, env=env, timeout=20)
        check(refused.returncode == 64 and "not a loopback address" in refused.stderr,
              f"--listen 0.0.0.0 without TLS is refused: {refused.returncode} {refused.stderr}")

        web = Web(args.synmap, conn, env)
        status, headers = http("POST", web.url + "/summary")
        check(status == 405, f"POST is 405 (got {status})")
        status, headers = http("GET", web.url + "/")
        csp = headers.get("Content-Security-Policy", "")
        check(status == 200 and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp,
              f"GET / has the CSP header: {csp}")
        check(headers.get("X-Content-Type-Options") == "nosniff", "nosniff header")

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--no-first-run"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)

        for path, shot in (("/", "map.png"), ("/summary", "summary.png"), ("/new", "new.png"),
                           ("/gone", "gone.png"), ("/sensors", "sensors.png"),
                           ("/downloads", "downloads.png")):
            load(driver, web.url + path, args.out, shot)
            if path == "/sensors":
                check("coverage:" in driver.find_element(By.CSS_SELECTOR, "pre.coverage").text,
                      "/sensors states its coverage")

        # The table is the CLI's tsv, for three filter sets.
        for params in ({}, {"server": "alpha", "since": "100h"},
                       {"service": "https", "client": "_", "count": "packets"}):
            expected = cli_rows(args.synmap, conn, env, params)
            load(driver, web.url + "/summary?" + urllib.parse.urlencode(params), args.out,
                 "summary-filtered.png")
            got = table_rows(driver)
            check(got == expected and len(expected) > 0,
                  f"/summary {params} rows equal synmap summary --format tsv "
                  f"({len(got)} vs {len(expected)}: {got} {expected})")

        # The map: a cluster per server, a node per named (server, service).
        all_rows = cli_rows(args.synmap, conn, env, {})
        load(driver, web.url + "/", args.out, "map.png")
        clusters = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "g.cluster > g > a > text")]
        for server in sorted({row[2] for row in all_rows}):
            check(server in clusters, f"map has a box for server {server!r}")
        nodes = {}
        for node in driver.find_elements(By.CSS_SELECTOR, "g.node a"):
            href = driver.execute_script(
                "return arguments[0].getAttributeNS('http://www.w3.org/1999/xlink', 'href')",
                node) or ""
            query = urllib.parse.parse_qs(urllib.parse.urlparse(href).query)
            if "service" in query:
                nodes[(query["server"][0], query["service"][0])] = node
        for server, service in sorted({(row[2], row[3]) for row in all_rows}):
            check((server, service) in nodes, f"map has a node for {server!r} {service!r}")
        check(hostile in clusters, "the hostile name is drawn as text in the map")
        driver.set_window_size(1000, 1400)  # Room for the whole map in one picture.
        driver.find_element(By.CSS_SELECTOR, "div.map").screenshot(
            os.path.join(args.out, "web-map.png"))
        driver.set_window_size(1280, 900)

        # A click on a service narrows the table to its rows.
        nodes[("alpha", "ssh")].click()
        WebDriverWait(driver, 15).until(expected_conditions.url_contains("/summary"))
        narrowed = table_rows(driver)
        check(0 < len(narrowed) < len(all_rows)
              and all(row[2] == "alpha" and row[3] == "ssh" for row in narrowed),
              f"clicking alpha/ssh narrows the table: {narrowed}")
        check(narrowed == cli_rows(args.synmap, conn, env, {"server": "alpha", "service": "ssh"}),
              "the narrowed table is the CLI's rows for that server and service")
        check(not console_errors(driver), "no console error after the click")

        # The hostile name is text in the table; the only script is ours. (Its server is asked by
        # address: the collector reads a filter with '/' as a CIDR.)
        load(driver, web.url + "/summary?" + urllib.parse.urlencode({"server": "10.1.0.40"}),
             args.out, "hostile.png")
        cells = [row[2] for row in table_rows(driver)]
        check(cells and all(cell == hostile for cell in cells),
              f"the hostile name shows as text in the table: {cells}")
        scripts = [s.get_attribute("src") for s in driver.find_elements(By.TAG_NAME, "script")]
        check(len(scripts) == 1 and scripts[0].endswith("/assets/synmap.js"),
              f"the page holds only its own script: {scripts}")
        # Asked by name, the collector refuses it (400) and the page quotes its message as text.
        driver.get(web.url + "/summary?" + urllib.parse.urlencode({"client": hostile}))
        driver.save_screenshot(os.path.join(args.out, "hostile-refused.png"))
        check(driver.find_element(By.TAG_NAME, "h1").text == "Query refused"
              and hostile in driver.find_element(By.CSS_SELECTOR, "p.error").text,
              "a refused hostile filter is quoted as text")
        check(no_alert(driver) and len(driver.find_elements(By.TAG_NAME, "script")) == 1,
              "the refusal page runs no script of the name")

        # A collector that is gone: the page says so with 502.
        fixture.stdin.close()
        fixture.wait(timeout=30)
        status, _ = http("GET", web.url + "/summary")
        check(status == 502, f"collector gone: /summary is 502 (got {status})")
        driver.get(web.url + "/sensors")
        driver.save_screenshot(os.path.join(args.out, "collector-gone.png"))
        check("Collector unavailable" in driver.find_element(By.TAG_NAME, "h1").text,
              "collector gone: the page says so")
    finally:
        if driver is not None:
            driver.quit()
        if web is not None:
            web.stop()
        if fixture.poll() is None:
            fixture.stdin.close()
            fixture.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    print(f"screenshots in {args.out}; {elapsed:.1f} s")
    if failures:
        print(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
