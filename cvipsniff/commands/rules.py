"""``cvipsniff rules``: every rule with its id, default severity, level, spec section and
description (and whether the current configuration enables it)."""

from __future__ import annotations

import argparse
import json
import sys

from cvipsniff.analysis.config import load_config
from cvipsniff.analysis.rules import CATALOGUE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="list every conformance rule", description=__doc__)
    p.add_argument("-T", "--output-format", dest="format", default="text",
                   choices=("text", "json"))
    p.add_argument("--config", metavar="TOML", help="settings file to apply")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    rows = []
    for rule in CATALOGUE.values():
        rows.append({
            "id": rule.id,
            "severity": config.severity_of(rule.id, rule.severity),
            "default_severity": rule.severity,
            "level": rule.level,
            "spec": rule.spec,
            "description": rule.description,
            "enabled": config.enabled(rule.id),
            "action": config.action_of(rule.id),
        })
    if args.format == "json":
        json.dump({"rules": rows}, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    width = max(len(r["id"]) for r in rows)
    for r in rows:
        flag = "" if r["enabled"] else "  (disabled)"
        sys.stdout.write(f"{r['id']:<{width}}  {r['severity']:<7}  {r['level']:<6}  "
                         f"{r['description']}{flag}\n{'':<{width}}  spec: {r['spec']}\n")
    return 0
