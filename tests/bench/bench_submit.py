#!/usr/bin/python3
"""Per-task overhead of `botscope submit` on the Linux test guest: wall time of the command
minus the configured run time, over N consecutive submissions, with the median of each stage
from the reports. Needs the test guest (tools/setup). Prints figures; asserts nothing.

usage: bench_submit.py BOTSCOPE SAMPLE [--runs N] [--run-time S] [--keep-running]"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("botscope")
ap.add_argument("sample")
ap.add_argument("--runs", type=int, default=10)
ap.add_argument("--run-time", type=int, default=5)
ap.add_argument("--keep-running", action="store_true",
                help="destroy_after = false: leave the VM running between tasks")
a = ap.parse_args()

with tempfile.TemporaryDirectory(prefix="botscope-bench-") as tmp:
    cfg = os.path.join(tmp, "botscope.ini")
    with open(cfg, "w") as f:
        f.write("[botscope]\ndata_dir = %s\ndestroy_after = %s\n" %
                (os.path.join(tmp, "data"), "false" if a.keep_running else "true"))
    overheads, stages = [], {}
    for i in range(a.runs):
        t0 = time.monotonic()
        p = subprocess.run([a.botscope, "submit", a.sample, "--timeout", str(a.run_time),
                            "--json", "--quiet", "--config", cfg],
                           capture_output=True, text=True)
        wall = time.monotonic() - t0
        if p.returncode != 0:
            sys.exit("submission %d failed (exit %d): %s" % (i + 1, p.returncode, p.stderr))
        report = json.loads(p.stdout)
        for k, v in report["task"]["stages"].items():
            stages.setdefault(k, []).append(v)
        overheads.append(wall - a.run_time)
        print("task %2d: wall %6.2f s  overhead %5.2f s  (%s)" % (
            i + 1, wall, wall - a.run_time,
            ", ".join("%s %.2f" % (k, v) for k, v in report["task"]["stages"].items()
                      if k != "run")), flush=True)

print()
print("submissions        %d x run time %d s%s" % (a.runs, a.run_time,
                                                     ", VM kept running" if a.keep_running else ""))
print("overhead median    %.2f s" % statistics.median(overheads))
print("overhead max       %.2f s" % max(overheads))
print("overhead min       %.2f s" % min(overheads))
for k, v in stages.items():
    print("stage %-12s median %.3f s, max %.3f s" % (k, statistics.median(v), max(v)))
