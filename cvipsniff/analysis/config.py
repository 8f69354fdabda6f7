"""Analysis settings from ``cvipsniff.toml`` (or ``[tool.cvipsniff]`` in pyproject.toml).

Example (every key optional)::

    [rules]
    disable = ["tcp.retransmission", "cvip.method.*"]   # ids or glob patterns
    only = []                                            # if set, run just these
    [rules.severity]
    "cvip.header.byte_order" = "info"
    [rules.action]            # Zeek weird.log style: log | once | per_flow | ignore
    "tcp.out_of_order" = "per_flow"

    [report]
    fail_on = "error"         # error | warning | info | never
    baseline = "cvipsniff-baseline.json"

    [ports]
    decode_as = ["tcp.port==8000,cvip", "tcp.port==17563,imageserver"]

    [live]
    unanswered_timeout_s = 10

    [cvip]                    # passed to the CVIP dissector as options
    ack_table = "either"
    [imageserver]
    mask_secrets = true
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvipsniff.errors import UsageError

SEVERITIES = ("error", "warning", "info")
FAIL_ON = ("error", "warning", "info", "never")
ACTIONS = ("log", "once", "per_flow", "ignore")
DEFAULT_ACTIONS = {
    # Retransmissions and reordering are normal on real networks: one finding per flow.
    "tcp.retransmission": "per_flow",
    "tcp.out_of_order": "per_flow",
}


@dataclass(slots=True)
class AnalysisConfig:
    disable: list[str] = field(default_factory=list)
    only: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    action: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    fail_on: str = "error"
    baseline: str | None = None
    decode_as: list[str] = field(default_factory=list)
    unanswered_timeout_s: float = 10.0
    dissector_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str | None = None  # where the settings came from, for messages

    def enabled(self, rule_id: str) -> bool:
        if self.only and not _matches(rule_id, self.only):
            return False
        return not _matches(rule_id, self.disable)

    def severity_of(self, rule_id: str, default: str) -> str:
        for pattern, sev in self.severity.items():
            if fnmatch.fnmatchcase(rule_id, pattern):
                return sev
        return default

    def action_of(self, rule_id: str) -> str:
        for pattern, act in self.action.items():
            if fnmatch.fnmatchcase(rule_id, pattern):
                return act
        return "log"


def _matches(rule_id: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(rule_id, p) or rule_id.startswith(p.rstrip(".") + ".")
               for p in patterns)


def load_config(path: str | None = None, cwd: Path | None = None) -> AnalysisConfig:
    """Settings from ``path``, else ./cvipsniff.toml, else ./pyproject.toml's
    ``[tool.cvipsniff]``, else defaults. A bad file is a UsageError (one line)."""
    here = cwd or Path.cwd()
    if path is not None:
        data = _read_toml(Path(path))
        return _from_dict(data.get("tool", {}).get("cvipsniff", data)
                          if Path(path).name == "pyproject.toml" else data, path)
    own = here / "cvipsniff.toml"
    if own.is_file():
        return _from_dict(_read_toml(own), str(own))
    pyproject = here / "pyproject.toml"
    if pyproject.is_file():
        section = _read_toml(pyproject).get("tool", {}).get("cvipsniff")
        if isinstance(section, dict):
            return _from_dict(section, f"{pyproject} [tool.cvipsniff]")
    return AnalysisConfig()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise UsageError(f"config file {str(path)!r} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None


def _from_dict(data: dict[str, Any], source: str) -> AnalysisConfig:
    cfg = AnalysisConfig(source=source)
    rules = _table(data, "rules", source)
    cfg.disable = _str_list(rules.get("disable", []), "rules.disable", source)
    cfg.only = _str_list(rules.get("only", []), "rules.only", source)
    for rid, sev in _table(rules, "severity", source).items():
        if sev not in SEVERITIES:
            raise UsageError(f"{source}: rules.severity.{rid} must be one of "
                             f"{', '.join(SEVERITIES)}, not {sev!r}")
        cfg.severity[rid] = sev
    for rid, act in _table(rules, "action", source).items():
        if act not in ACTIONS:
            raise UsageError(f"{source}: rules.action.{rid} must be one of "
                             f"{', '.join(ACTIONS)}, not {act!r}")
        cfg.action[rid] = act
    report = _table(data, "report", source)
    fail_on = report.get("fail_on", cfg.fail_on)
    if fail_on not in FAIL_ON:
        raise UsageError(f"{source}: report.fail_on must be one of {', '.join(FAIL_ON)}")
    cfg.fail_on = fail_on
    baseline = report.get("baseline")
    if baseline is not None:
        cfg.baseline = str(baseline)
    cfg.decode_as = _str_list(_table(data, "ports", source).get("decode_as", []),
                              "ports.decode_as", source)
    timeout = _table(data, "live", source).get("unanswered_timeout_s", cfg.unanswered_timeout_s)
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise UsageError(f"{source}: live.unanswered_timeout_s must be a positive number")
    cfg.unanswered_timeout_s = float(timeout)
    for proto in ("cvip", "imageserver"):
        options = _table(data, proto, source)
        if options:
            cfg.dissector_options[proto] = dict(options)
    unknown = set(data) - {"rules", "report", "ports", "live", "cvip", "imageserver"}
    if unknown:
        raise UsageError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}")
    return cfg


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"{source}: [{key}] must be a table")
    return value


def _str_list(value: Any, name: str, source: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{source}: {name} must be a list of strings")
    return list(value)
