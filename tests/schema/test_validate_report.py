#!/usr/bin/python3
"""tools/validate-report against reports that break the schema in the ways a change to a
writer would: a key renamed, a stable code changed, a part missing its reason, a log line or a
log's count gone wrong. Each must fail, naming the file, the line and the JSON path; the
reports as botscope writes them must pass.

BOTSCOPE_BIN and BOTSCOPE_TESTGEN name the binaries (ctest sets them). The broken copies are
made in a temporary folder outside the build tree, which the final sweep checks.
"""

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VALIDATE = ROOT / "tools" / "validate-report"


def run(*args):
    p = subprocess.run(["/usr/bin/python3", str(VALIDATE), "--quiet", *map(str, args)],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


class ValidateReport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="botscope-schema-"))
        pcap = cls.tmp / "demo.pcap"
        subprocess.run([os.environ["BOTSCOPE_TESTGEN"], "demo", str(pcap)], check=True,
                       capture_output=True)
        cls.good = cls.tmp / "good"
        subprocess.run([os.environ["BOTSCOPE_BIN"], "analyze-pcap", str(pcap), "--quiet", "-o",
                        str(cls.good)], check=True, capture_output=True)
        cls.report = json.loads((cls.good / "report.json").read_text())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def folder(self, name, report=None):
        """A copy of the good output folder, with `report` as its report.json."""
        d = self.tmp / name
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(self.good, d)
        if report is not None:
            (d / "report.json").write_text(json.dumps(report, indent=2))
        return d

    def assert_fails(self, path, *expected):
        rc, out = run(path)
        self.assertEqual(rc, 1, out)
        for text in expected:
            self.assertIn(text, out)
        return out

    def task_report(self):
        """A task report as run_task writes one (a completed task, fakenet off) around the
        analysis of the demo capture."""
        r = copy.deepcopy(self.report)
        del r["source"]
        r["kind"] = "task"
        sha = "a" * 64
        task = {
            "id": "7", "status": "completed", "error": None,
            "sample": {"path": "/tmp/s.exe", "size": 10, "md5": "b" * 32, "sha256": sha,
                       "guest_name": "sample.exe"},
            "machine": {"name": "xp", "domain": "bs-xp", "snapshot": "clean",
                        "platform": "windows", "ip": "10.66.0.10", "interface": "vnet0"},
            "timeout": 30, "started": "2026-12-07T13:15:04Z", "finished": "2026-12-07T13:15:36Z",
            "stages": {"fakenet": 0.1, "revert": 1.0, "capture": 0.1, "inject": 0.3,
                       "run": 30.0, "collect": 1.0, "cleanup": 1.0, "analyse": 0.2,
                       "signatures": 0.2, "report": 0.01},
            "capture": {"file": "dump.pcap", "interface": "vnet0", "packets": 388,
                        "bytes": 28874, "truncated": False, "packets_over_cap": 0,
                        "kernel_drops": 0, "interface_drops": 0, "seconds": 31.0,
                        "ended_early": None},
            "warnings": [],
        }
        out = {"schema": r["schema"], "generator": r["generator"], "kind": "task", "task": task,
               "guest": {"pid": 105, "killed": [105], "errors": []},
               "network": r["network"], "behavior": r["behavior"],
               "fakenet": {"status": "disabled"},
               "signatures": {"status": "ok", "scans": [
                   {"kind": "sample", "file": "sample", "status": "ok", "matches": []}],
                   "rules": {"rules": 3, "rule_files": 3, "warnings": []}},
               "verdict": r["verdict"], "traits": r["traits"],
               "logs": r["logs"]}
        return out

    def test_reports_as_written_pass(self):
        rc, out = run(self.good)
        self.assertEqual(rc, 0, out)
        rc, out = run(self.folder("task", self.task_report()))
        self.assertEqual(rc, 0, out)

    def test_a_renamed_key_fails_with_its_path(self):
        r = copy.deepcopy(self.report)
        r["network"]["dns"]["transactions"][0]["qname"] = \
            r["network"]["dns"]["transactions"][0].pop("query")
        self.assert_fails(self.folder("renamed", r),
                          "report.json: $.network.dns.transactions[0]: missing 'query'",
                          "$.network.dns.transactions[0]: unexpected key 'qname'")

    def test_a_changed_stable_code_fails(self):
        r = copy.deepcopy(self.report)
        r["network"]["flows"]["list"][0]["state"] = "ESTABLISHED"
        r["behavior"]["scans"][0]["kind"] = "diagonal"
        self.assert_fails(self.folder("codes", r), "$.network.flows.list[0].state",
                          "$.behavior.scans[0].kind: 'diagonal' is not one of")

    def test_omitted_counts_only_beside_lists(self):
        r = copy.deepcopy(self.report)
        session = r["network"]["irc"]["sessions"][0]
        session["received_omitted"] = 5  # as the report's sample writes a cut list
        rc, out = run(self.folder("omitted", r))
        self.assertEqual(rc, 0, out)
        session["received_kept"] = 5
        self.assert_fails(self.folder("omitted", r), "$.network.irc.sessions[0]: unexpected key 'received_kept'")

    def test_a_part_that_could_not_be_made_must_say_why(self):
        t = self.task_report()
        t["fakenet"] = {"status": "error"}
        t["signatures"] = {"status": "error", "scans": []}
        self.assert_fails(self.folder("no-reason", t), "$.fakenet: missing 'error'",
                          "$.signatures: missing 'error'")
        t["fakenet"] = {"status": "error", "error": ""}
        self.assert_fails(self.folder("no-reason", t), "$.fakenet.error")
        scan = {"kind": "dropped", "file": "files/" + "c" * 64, "status": "hung"}
        t = self.task_report()
        t["signatures"]["scans"].append(scan)
        self.assert_fails(self.folder("no-reason", t), "$.signatures.scans[1]: missing 'error'")

    def test_a_failed_analysis_says_why_and_has_no_behaviour(self):
        t = self.task_report()
        t["task"]["status"] = "failed"
        t["task"]["error"] = {"stage": "analyse", "code": "analyse", "message": "crashed",
                              "machine_quarantined": False}
        t["network"] = {"error": "the analysis crashed (signal 6)"}
        t["behavior"] = None
        t["logs"] = []
        d = self.tmp / "failed"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        (d / "report.json").write_text(json.dumps(t))
        rc, out = run(d)
        self.assertEqual(rc, 0, out)
        t["network"] = {}
        (d / "report.json").write_text(json.dumps(t))
        self.assert_fails(d, "$.network: fits none of its forms:",
                          "'error' is a required property")
        t["network"] = {"error": "x"}
        t["task"]["error"] = None
        (d / "report.json").write_text(json.dumps(t))
        self.assert_fails(d, "$.task.error: None is not of type 'object'")
        t["task"]["error"] = {"stage": "run", "code": "vm_gone", "message": "x",
                              "machine_quarantined": False}
        (d / "report.json").write_text(json.dumps(t))
        self.assert_fails(d, "$.task.error.code: 'vm_gone' is not one of")

    def test_a_bad_log_line_fails_with_its_number(self):
        d = self.folder("log")
        lines = (d / "flows.jsonl").read_text().splitlines()
        bad = json.loads(lines[2])
        bad["orig"]["port"] = 70000
        lines[2] = json.dumps(bad)
        lines[4] = lines[4][:-1]  # cut: not JSON any more
        (d / "flows.jsonl").write_text("\n".join(lines) + "\n")
        self.assert_fails(d, "flows.jsonl:3: $.orig.port: 70000 is greater than",
                          "flows.jsonl:5: not JSON")

    def test_findings_in_behavior_jsonl_are_closed_too(self):
        d = self.folder("behavior")
        lines = (d / "behavior.jsonl").read_text().splitlines()
        line = json.loads(lines[0])
        line["extra"] = 1
        lines[0] = json.dumps(line)
        (d / "behavior.jsonl").write_text("\n".join(lines) + "\n")
        self.assert_fails(d, "behavior.jsonl:1: $: unexpected key 'extra'")

    def test_a_log_without_a_schema_or_not_as_listed_fails(self):
        d = self.folder("logs")
        (d / "ssh.jsonl").write_text("{}\n")
        (d / "irc.jsonl.part").write_text("")
        with open(d / "dns.jsonl", "a") as f:
            f.write((d / "dns.jsonl").read_text().splitlines()[0] + "\n")
        (d / "tftp.jsonl").unlink()
        self.assert_fails(d, "no schema for ssh.jsonl", "irc.jsonl.part: a log left half-written",
                          "$.logs says dns.jsonl has 7 records; it has 8 lines",
                          "$.logs lists tftp.jsonl, which is not in")

    def test_a_fakenet_record_is_checked_by_its_kind(self):
        d = self.tmp / "fakenet"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        good = {"ts": 1796649308.2, "kind": "irc", "event": "join", "conn": 5, "nick": "bot",
                "channel": "#c", "key": None}
        bad = dict(good, event="part")
        dns = {"ts": 1.0, "kind": "dns", "conn": 0, "client": "10.66.0.10:1030",
               "server": "10.66.0.1:53", "transport": "udp", "id": 1, "name": "a.test",
               "type": "A", "rcode": "NOERROR", "answers": ["10.66.0.1"]}
        (d / "fakenet.jsonl").write_text("\n".join(map(json.dumps, [good, dns])) + "\n")
        rc, out = run(d)
        self.assertEqual(rc, 0, out)
        del dns["rcode"]
        (d / "fakenet.jsonl").write_text("\n".join(map(json.dumps, [good, bad, dns])) + "\n")
        self.assert_fails(d, "fakenet.jsonl:2: $.event: 'part' is not one of",
                          "fakenet.jsonl:3: $: missing 'rcode'")

    def test_sampling_a_long_log_says_so_and_keeps_the_last_line(self):
        d = self.folder("sampled")
        lines = (d / "flows.jsonl").read_text().splitlines()
        lines[-1] = lines[-1].replace('"proto":"tcp"', '"proto":"sctp"').replace(
            '"proto":"udp"', '"proto":"sctp"')
        (d / "flows.jsonl").write_text("\n".join(lines) + "\n")
        p = subprocess.run(["/usr/bin/python3", str(VALIDATE), "--sample-over", "10",
                            str(d / "flows.jsonl")], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn(f"flows.jsonl:{len(lines)}: $.proto", p.stdout)
        self.assertIn(f"of {len(lines)} lines", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
