#!/usr/bin/python3
"""Throughput of `botscope batch` on the pool of test guests: N distinct samples (the bundled
probe script, each made distinct by a comment) at a run time of S seconds, once with the first
guest and once with both. Prints samples per hour and, per task, where the time goes (the
stages from the reports, and the wait between a task's queueing and its claim). Needs both test
guests (tools/setup). Prints figures; asserts nothing.

usage: bench_batch.py BOTSCOPE SAMPLE [--samples N] [--run-time S]"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("botscope")
ap.add_argument("sample")
ap.add_argument("--samples", type=int, default=8)
ap.add_argument("--run-time", type=int, default=10)
a = ap.parse_args()

GUESTS = {
    "testguest": ("botscope-testguest", "10.66.0.10", "/var/lib/botscope/testguest/agent.secret"),
    "testguest2": ("botscope-testguest2", "10.66.0.11", "/var/lib/botscope/testguest2/agent.secret"),
}
body = open(a.sample, "rb").read()


def run(machines):
    with tempfile.TemporaryDirectory(prefix="botscope-bench-") as tmp:
        cfg = os.path.join(tmp, "botscope.ini")
        with open(cfg, "w") as f:
            f.write("[botscope]\ndata_dir = %s\nmachines = %s\n" %
                    (os.path.join(tmp, "data"), ", ".join(machines)))
            for m in machines:
                d, ip, secret = GUESTS[m]
                f.write("[%s]\ndomain = %s\nip = %s\nsecret_file = %s\n" % (m, d, ip, secret))
        src = os.path.join(tmp, "in")
        os.mkdir(src)
        for i in range(a.samples):
            with open(os.path.join(src, "sample-%02d.sh" % i), "wb") as f:
                f.write(body + b"\n# bench sample %d\n" % i)
        t0 = time.monotonic()
        p = subprocess.run([a.botscope, "batch", src, "--timeout", str(a.run_time), "--json",
                            "--quiet", "--config", cfg], capture_output=True, text=True)
        wall = time.monotonic() - t0
        if p.returncode != 0:
            sys.exit("batch on %s failed (exit %d): %s" % (machines, p.returncode, p.stderr))
        stages = {}
        for row in json.loads(p.stdout)["tasks"]:
            rep = json.load(open(row["report"]))
            for k, v in rep["task"]["stages"].items():
                stages.setdefault(k, []).append(v)
        return wall, stages


print("%d samples, run time %d s" % (a.samples, a.run_time), flush=True)
for machines in (["testguest"], ["testguest", "testguest2"]):
    wall, stages = run(machines)
    print()
    print("%d guest(s): %.1f s for %d samples: %.0f samples/hour" %
          (len(machines), wall, a.samples, a.samples * 3600 / wall))
    for k, v in stages.items():
        print("  stage %-11s median %6.2f s, max %6.2f s" % (k, statistics.median(v), max(v)))
    sys.stdout.flush()
