"""JUnit XML, h2spec style: one test suite per capture, one test case per rule.

A rule's case fails when it has findings at or above the fail threshold (each finding
listed with its frames), passes otherwise (findings below the threshold go to
system-out), and is skipped when the configuration disabled the rule.

``classname`` is ``<capture file name>.<rule group>`` (``demo.cvip.header``): CI pages
split a class name at its dots into a tree, so the capture is named by its file name
without extension or directories (the suite's ``name`` keeps the path as given). Every
suite and case carries ``time``: the suite's is the capture's analysis time; the rules
are checked in that one pass, so a case's time is the suite's share per rule.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import PurePath

from lxml import etree

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.model import Finding
from cvipsniff.analysis.rules import CATALOGUE, rule_for
from cvipsniff.report import FileResult, failing

_CAPTURE_SUFFIX = re.compile(r"(\.(pcapng|pcap|cap))?(\.gz)?$", re.IGNORECASE)


def capture_class(path: str) -> str:
    """A capture's part of a class name: its file name without the capture extension
    and without dots (``captures/violations/x-y.pcapng`` → ``x-y``)."""
    name = _CAPTURE_SUFFIX.sub("", PurePath(path).name) or PurePath(path).name
    return name.replace(".", "_") or "capture"


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def render(results: list[FileResult], fail_on: str, config: AnalysisConfig) -> bytes:
    suites = etree.Element("testsuites", name="cvipsniff")
    total = total_fail = total_err = total_skip = 0
    total_time = 0.0
    for r in results:
        suite = etree.SubElement(suites, "testsuite", name=r.path)
        suite.set("time", _seconds(r.elapsed_s))
        total_time += r.elapsed_s
        prefix = capture_class(r.path)
        if r.error is not None or r.analysis is None:
            case = etree.SubElement(suite, "testcase", classname=f"{prefix}.capture",
                                    name="read capture", time=_seconds(r.elapsed_s))
            err = etree.SubElement(case, "error", message=r.error or "not analysed",
                                   type="input")
            err.text = r.error
            suite.set("tests", "1")
            suite.set("failures", "0")
            suite.set("errors", "1")
            suite.set("skipped", "0")
            total += 1
            total_err += 1
            continue
        by_rule: dict[str, list[Finding]] = defaultdict(list)
        for f in r.findings:
            by_rule[f.rule].append(f)
        rule_ids = sorted(set(CATALOGUE) | set(by_rule))
        tests = fails = skips = 0
        share = _seconds(r.elapsed_s / len(rule_ids))
        for rule_id in rule_ids:
            rule = rule_for(rule_id)
            group = by_rule.get(rule_id, [])
            case = etree.SubElement(suite, "testcase",
                                    classname=f"{prefix}.{rule.section_group}", name=rule_id,
                                    time=share)
            tests += 1
            if not config.enabled(rule_id):
                etree.SubElement(case, "skipped", message="disabled by configuration")
                skips += 1
                continue
            bad = failing(group, fail_on)
            if bad:
                fails += 1
                failure = etree.SubElement(
                    case, "failure", type=bad[0].severity,
                    message=f"{len(bad)} finding(s): {bad[0].message}"[:500])
                failure.text = "\n".join(
                    f"[{f.severity}] frames {','.join(map(str, f.frames))}: {f.message} "
                    f"({f.spec or rule.spec})" for f in bad)
            if group and len(bad) < len(group):
                out = etree.SubElement(case, "system-out")
                out.text = "\n".join(f"[{f.severity}] frames {','.join(map(str, f.frames))}: "
                                     f"{f.message}" for f in group if f not in bad)
        suite.set("tests", str(tests))
        suite.set("failures", str(fails))
        suite.set("errors", "0")
        suite.set("skipped", str(skips))
        total += tests
        total_fail += fails
        total_skip += skips
    suites.set("tests", str(total))
    suites.set("failures", str(total_fail))
    suites.set("errors", str(total_err))
    suites.set("skipped", str(total_skip))
    suites.set("time", _seconds(total_time))
    return etree.tostring(suites, pretty_print=True, xml_declaration=True, encoding="UTF-8")
