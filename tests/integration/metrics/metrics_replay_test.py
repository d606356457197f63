#!/usr/bin/env python3
"""--metrics-listen end to end: a real collector and real sensors replaying a generated capture
(real certificates, real gRPC); both /metrics endpoints are scraped during and after the replay
and parsed with Prometheus' own text parser (Debian's python3-prometheus-client). The counters
must equal what `synmap sensors --format json` reports and what the generator wrote.

Phase "read": synmap-sensor --read --replay-speed (no root needed); the sensor exits once every
batch is acked, so its counters are checked during the replay and the collector's after it.
Phase "live" (root: a network namespace with a veth pair, tcpreplay into one end, the sensor on
the other): the sensor keeps running after the replay, so its own counters are checked against
`synmap sensors` too, then it is stopped with SIGTERM and its endpoint must close.
Also: a port in use is refused with a clear error, other methods get 405, no endpoint without
the flag, and the collector's endpoint closes on SIGTERM.

Usage: metrics_replay_test.py SENSOR COLLECTOR CLI MAKE_CERTS GEN_PCAP
(as root it re-runs itself inside a fresh network namespace; --inside VETH_A VETH_B marks that).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("SKIP: python3-prometheus-client not installed (deploy/install-deps.sh)")
    sys.exit(77)

SENSOR, COLLECTOR, CLI, MAKE_CERTS, GEN_PCAP = sys.argv[1:6]
INSIDE = sys.argv[6:7] == ["--inside"]
VETH = sys.argv[7:9] if INSIDE else []

# 100 frames per repeat, 20 ms apart: 4 s of capture time, several 1 s windows.
REPEAT = 2
GROUPS = ["synack:4:40:18080", "synack:6:20:18443", "syn:4:30:18080", "udp:6:10:53"]
WANT_FRAMES = 100 * REPEAT          # --read counts every frame of the file
WANT_SYNACKS = (40 + 20) * REPEAT   # what the generator wrote as SYN/ACKs
DEADLINE_S = 60


def log(*args):
    print(time.strftime("[%H:%M:%S]"), *args, flush=True)


def fail(message):
    raise AssertionError(message)


def wait_for(what, predicate, seconds=DEADLINE_S):
    """Polls `predicate` every 0.1 s (a log line or a counter: no notification exists)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    fail(f"timed out after {seconds}s waiting for {what}")


class Scrape:
    """One /metrics answer, parsed by prometheus_client."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.types = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for s in family.samples:
                self.samples[(s.name, tuple(sorted(s.labels.items())))] = s.value

    def get(self, sample_name, **labels):
        key = (sample_name, tuple(sorted(labels.items())))
        if key not in self.samples:
            fail(f"no sample {sample_name}{labels} in:\n{self.text}")
        return self.samples[key]

    def with_name(self, name):
        return {dict(k[1]).get("reason", ""): v for k, v in self.samples.items() if k[0] == name}


def scrape(address):
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as answer:
        if answer.status != 200:
            fail(f"GET /metrics on {address}: HTTP {answer.status}")
        content_type = answer.headers["Content-Type"]
        if not content_type.startswith("text/plain; version=0.0.4"):
            fail(f"content type {content_type}")
        return Scrape(answer.read().decode())


def try_scrape(address):
    try:
        return scrape(address)
    except (urllib.error.URLError, ConnectionError, OSError):
        return None  # the process has exited (a --read sensor) or not started yet


def metrics_address(log_path):
    def found():
        try:
            with open(log_path) as f:
                m = re.search(r"metrics_listening address=(\S+)", f.read())
                return m.group(1) if m else None
        except FileNotFoundError:
            return None
    return wait_for(f"metrics_listening in {log_path}", found)


def port_closed(address):
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return False
    except OSError:
        return True


MONOTONIC = ["synmap_sensor_packets_received_total", "synmap_sensor_synacks_total",
             "synmap_sensor_batches_acked_total", "synmap_collector_batches_committed_total",
             "synmap_collector_records_committed_total", "synmap_collector_commit_seconds_count"]


def check_monotonic(scrapes):
    for name in MONOTONIC:
        values = [s.samples[(name, ())] for s in scrapes if (name, ()) in s.samples]
        if values != sorted(values):
            fail(f"{name} went down between scrapes: {values}")


class Run:
    def __init__(self, work):
        self.work = work
        self.procs = []

    def path(self, name):
        return os.path.join(self.work, name)

    def spawn(self, args, log_name):
        out = open(self.path(log_name), "w")
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def tls(self, name):
        return ["--ca", self.path("certs/ca.pem"), "--cert", self.path(f"certs/{name}.pem"),
                "--key", self.path(f"certs/{name}.key")]

    def cli(self, *args, cert="reader-m"):
        return subprocess.run([CLI, *args, "--collector", f"127.0.0.1:{self.collector_port}",
                               *self.tls(cert)], capture_output=True, text=True, timeout=60)

    def sensors_json(self):
        r = self.cli("sensors", "--format", "json")
        if r.returncode != 0:
            fail(f"synmap sensors failed: {r.stderr}")
        return {row["sensor"]: row for row in json.loads(r.stdout)["rows"]}

    def sensor_args(self, name, *extra):
        return [SENSOR, "--collector", f"127.0.0.1:{self.collector_port}", "--spool",
                self.path(f"spool-{name}"), "--flush-interval", "1s", *self.tls(name),
                "--log-file", self.path(f"sensor-{name}.log"), *extra]

    def setup(self):
        for args in (["ca"], ["collector", "collector"], ["sensor", "s-read"],
                     ["sensor", "s-live"], ["sensor", "s-plain"], ["reader", "reader-m"]):
            subprocess.run(["bash", MAKE_CERTS, self.path("certs"), *args], check=True,
                           stdout=subprocess.DEVNULL)
        subprocess.run([sys.executable, GEN_PCAP, "--out", self.path("replay.pcap"), "--repeat",
                        str(REPEAT), "--step-us", "20000", *sum([["--group", g] for g in GROUPS],
                                                                [])],
                       check=True, stdout=subprocess.DEVNULL)
        with open(self.path("names.yaml"), "w") as f:
            f.write('local_networks: ["198.51.100.0/24", "2001:db8::/32"]\n')
        self.collector = self.spawn(
            [COLLECTOR, "--listen", "127.0.0.1:0", "--port-file", self.path("collector.port"),
             "--db", self.path("collector.db"), "--names", self.path("names.yaml"),
             *self.tls("collector"), "--metrics-listen", "127.0.0.1:0"], "collector.log")
        wait_for("collector port file", lambda: os.path.exists(self.path("collector.port")))
        self.collector_port = int(open(self.path("collector.port")).read())
        self.collector_metrics = metrics_address(self.path("collector.log"))
        log(f"collector on 127.0.0.1:{self.collector_port}, metrics {self.collector_metrics}")

    def scrape_until_exit(self, proc, sensor_metrics):
        """Scrapes both endpoints every 0.1 s until `proc` exits; returns the scrapes."""
        sensor_scrapes, collector_scrapes = [], []
        while proc.poll() is None:
            s = try_scrape(sensor_metrics)
            if s is not None:
                sensor_scrapes.append(s)
            collector_scrapes.append(scrape(self.collector_metrics))
            time.sleep(0.1)
        return sensor_scrapes, collector_scrapes

    def phase_read(self):
        proc = self.spawn(self.sensor_args("s-read", "--read", self.path("replay.pcap"),
                                           "--replay-speed", "--metrics-listen", "127.0.0.1:0"),
                          "sensor-s-read.out")
        sensor_metrics = metrics_address(self.path("sensor-s-read.log"))
        sensor_scrapes, collector_scrapes = self.scrape_until_exit(proc, sensor_metrics)
        if proc.returncode != 0:
            fail(f"sensor --read exited {proc.returncode}")
        check_monotonic(sensor_scrapes)
        check_monotonic(collector_scrapes)
        during = [s.get("synmap_sensor_packets_received_total") for s in sensor_scrapes]
        if not any(0 < v < WANT_FRAMES for v in during):
            fail(f"no sensor scrape saw the replay in progress: {during}")
        if max(during) > WANT_FRAMES:
            fail(f"sensor counted {max(during)} packets, the capture has {WANT_FRAMES}")
        last = sensor_scrapes[-1]
        if last.get("synmap_build_info", component="sensor", version="0.1.0") != 1:
            fail("sensor build info")
        if last.get("synmap_certificate_expiry_timestamp_seconds", name="s-read",
                    role="sensor") < time.time():
            fail("sensor certificate expiry in the past")
        log(f"read phase: {len(sensor_scrapes)} sensor scrapes, packets seen {during[0]}.."
            f"{during[-1]}, {len(collector_scrapes)} collector scrapes")
        row = self.sensors_json()["s-read"]
        if (row["packets"], row["synacks"]) != (WANT_FRAMES, WANT_SYNACKS):
            fail(f"synmap sensors: {row}, want {WANT_FRAMES} packets {WANT_SYNACKS} SYN/ACKs")
        return len(sensor_scrapes)

    def phase_live(self, veth_a, veth_b):
        proc = self.spawn(self.sensor_args("s-live", "-i", veth_b, "--promiscuous",
                                           "--metrics-listen", "127.0.0.1:0"),
                          "sensor-s-live.out")
        sensor_metrics = metrics_address(self.path("sensor-s-live.log"))
        wait_for("live capture", lambda: "pipeline_started" in open(
            self.path("sensor-s-live.log")).read())
        replay = subprocess.Popen(["tcpreplay", "-q", "-i", veth_a, self.path("replay.pcap")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        during = []
        while replay.poll() is None:
            during.append(scrape(sensor_metrics).get("synmap_sensor_packets_received_total"))
            scrape(self.collector_metrics)
            time.sleep(0.1)
        if replay.returncode != 0:
            fail(f"tcpreplay exited {replay.returncode}")

        def settled():
            s = scrape(sensor_metrics)
            row = self.sensors_json().get("s-live")
            done = (row is not None and s.get("synmap_sensor_synacks_total") == WANT_SYNACKS
                    and s.get("synmap_sensor_spool_batches") == 0
                    and s.get("synmap_sensor_batches_acked_total") == row["batches"]
                    and row["synacks"] == WANT_SYNACKS)
            return (s, row) if done else None
        s, row = wait_for("live sensor's batches acked", settled)
        checks = {
            "packets_received": (s.get("synmap_sensor_packets_received_total"), row["packets"]),
            "synacks": (s.get("synmap_sensor_synacks_total"), row["synacks"]),
            "kernel drops": (s.get("synmap_sensor_packets_dropped_total", stage="kernel"),
                             row["kernel_drops"]),
            "interface drops": (s.get("synmap_sensor_packets_dropped_total", stage="interface"),
                                row["interface_drops"]),
            "malformed": (s.get("synmap_sensor_packets_malformed_total"), row["malformed"]),
            "spool backlog": (s.get("synmap_sensor_spool_batches"), row["spool_backlog"]),
            "batches acked": (s.get("synmap_sensor_batches_acked_total"), row["batches"]),
            "lost spool_full": (s.get("synmap_sensor_batches_lost_total", reason="spool_full"),
                                row["spool_dropped"]),
            "lost write_failed": (s.get("synmap_sensor_batches_lost_total",
                                        reason="write_failed"), row["lost_write_failed"]),
            "quarantined": (s.get("synmap_sensor_batches_lost_total", reason="quarantined"),
                            row["quarantined"]),
            "connected": (s.get("synmap_sensor_uplink_connected"),
                          1 if row["state"] == "connected" else 0),
        }
        for what, (metric, cli) in checks.items():
            if metric != cli:
                fail(f"live sensor {what}: metrics {metric}, synmap sensors {cli}")
        log(f"live phase: sensor metrics equal synmap sensors ({len(during)} scrapes during the "
            f"replay, {int(s.get('synmap_sensor_packets_received_total'))} packets, "
            f"{row['batches']} batches)")
        proc.send_signal(signal.SIGTERM)
        if proc.wait(timeout=DEADLINE_S) != 0:
            fail(f"live sensor exited {proc.returncode} after SIGTERM")
        if "metrics_stopped" not in open(self.path("sensor-s-live.log")).read():
            fail("live sensor did not log metrics_stopped")
        if not port_closed(sensor_metrics):
            fail(f"sensor metrics port {sensor_metrics} still open after exit")

    def check_refusals_and_errors(self):
        # A sensor certificate querying is refused and counted by reason.
        if self.cli("sensors", cert="s-read").returncode == 0:
            fail("a sensor certificate was allowed to query")
        refusals = scrape(self.collector_metrics).with_name("synmap_collector_refusals_total")
        if refusals.get("permission_denied") != 1:
            fail(f"refusals by reason: {refusals}")
        # Other methods: 405.
        request = urllib.request.Request(f"http://{self.collector_metrics}/metrics", data=b"x",
                                         method="POST")
        try:
            urllib.request.urlopen(request, timeout=5)
            fail("POST /metrics answered 2xx")
        except urllib.error.HTTPError as e:
            if e.code != 405:
                fail(f"POST /metrics: HTTP {e.code}, want 405")
        # A port in use: both daemons refuse it by name.
        taken = self.collector_metrics
        r = subprocess.run([COLLECTOR, "--listen", "127.0.0.1:0", "--db", self.path("c2.db"),
                            "--names", self.path("names.yaml"), *self.tls("collector"),
                            "--metrics-listen", taken], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 1 or "address already in use" not in r.stderr:
            fail(f"second collector on metrics port {taken}: exit {r.returncode}, {r.stderr}")
        r = subprocess.run(self.sensor_args("s-plain", "--read", self.path("replay.pcap"),
                                            "--metrics-listen", taken),
                           capture_output=True, text=True, timeout=60)
        sensor_log = open(self.path("sensor-s-plain.log")).read()
        if r.returncode != 1 or "address already in use" not in sensor_log:
            fail(f"sensor on metrics port {taken}: exit {r.returncode}, log:\n{sensor_log}")
        # Without the flag, no endpoint.
        os.remove(self.path("sensor-s-plain.log"))
        r = subprocess.run(self.sensor_args("s-plain", "--read", self.path("replay.pcap")),
                           capture_output=True, text=True, timeout=60)
        sensor_log = open(self.path("sensor-s-plain.log")).read()
        if r.returncode != 0 or "metrics_listening" in sensor_log:
            fail(f"sensor without --metrics-listen: exit {r.returncode}, log:\n{sensor_log}")
        log("refusal counted, 405, port in use refused by collector and sensor, no flag no port")

    def check_collector_after(self):
        rows = self.sensors_json()
        c = scrape(self.collector_metrics)
        batches = sum(r["batches"] for r in rows.values())
        if c.get("synmap_collector_batches_committed_total") != batches:
            fail(f"collector committed {c.get('synmap_collector_batches_committed_total')} "
                 f"batches, synmap sensors says {batches}")
        if c.get("synmap_collector_commit_seconds_count") != batches:
            fail("commit_seconds_count differs from the batches committed")
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in c.samples.items()
                         if k[0] == "synmap_collector_commit_seconds_bucket")
        if [v for _, v in buckets] != sorted(v for _, v in buckets) or buckets[-1][1] != batches:
            fail(f"commit_seconds buckets not cumulative up to the count: {buckets}")
        if c.types.get("synmap_collector_commit_seconds") != "histogram":
            fail("commit_seconds is not typed histogram")
        records = subprocess.run(
            ["sqlite3", f"file:{self.path('collector.db')}?mode=ro",
             "SELECT COALESCE(SUM(records), 0) FROM batches;"], capture_output=True, text=True)
        if records.returncode == 0 and records.stdout.strip().isdigit():
            if c.get("synmap_collector_records_committed_total") != int(records.stdout):
                fail(f"records committed {c.get('synmap_collector_records_committed_total')}, "
                     f"the store holds {records.stdout.strip()}")
        log(f"collector: {batches} batches committed = synmap sensors; histogram cumulative")

    def stop_collector(self):
        self.collector.send_signal(signal.SIGTERM)
        if self.collector.wait(timeout=DEADLINE_S) != 0:
            fail(f"collector exited {self.collector.returncode} after SIGTERM")
        if "metrics_stopped" not in open(self.path("collector.log")).read():
            fail("collector did not log metrics_stopped")
        if not port_closed(self.collector_metrics):
            fail("collector metrics port still open after exit")

    def cleanup(self, failed):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if failed:
            for name in sorted(os.listdir(self.work)):
                if name.endswith((".log", ".out")):
                    print(f"---- {name} (last 30 lines)", file=sys.stderr)
                    with open(self.path(name)) as f:
                        print("".join(f.readlines()[-30:]), file=sys.stderr)


def run_all(veth):
    work = tempfile.mkdtemp(prefix="synmap-metrics-it-")
    run = Run(work)
    failed = True
    try:
        run.setup()
        run.phase_read()
        if veth:
            run.phase_live(*veth)
        else:
            log("live phase skipped (needs root and network namespaces)")
        run.check_refusals_and_errors()
        run.check_collector_after()
        run.stop_collector()
        failed = False
        log("PASS")
    finally:
        run.cleanup(failed)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def can_make_netns(name):
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tcpreplay") is None:
        return False
    return subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode == 0


def main():
    if INSIDE:
        return run_all(VETH)
    suffix = f"{os.getpid() % 100000}"
    ns, va, vb = f"synmap-metrics-{suffix}", f"vma{suffix}", f"vmb{suffix}"
    if not can_make_netns(ns):
        return run_all(None)
    try:
        for cmd in (["link", "set", "lo", "up"],
                    ["link", "add", va, "type", "veth", "peer", "name", vb],
                    ["link", "set", va, "up"], ["link", "set", vb, "up"]):
            subprocess.run(["ip", "-n", ns, *cmd], check=True)
        return subprocess.run(["ip", "netns", "exec", ns, sys.executable, __file__,
                               *sys.argv[1:6], "--inside", va, vb]).returncode
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
