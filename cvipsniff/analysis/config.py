"""Analysis settings from ``cvipsniff.toml`` (or ``[tool.cvipsniff]`` in pyproject.toml).

Every key is optional, and every mistake is a usage error (exit 2, one line naming the key,
with the nearest known name): an unknown section or key, a rule id or glob that matches no
rule of the catalogue, a value outside its choices, an option a dissector does not have.
A misspelt ``disabled`` or a rule id with a typo would otherwise leave a CI gate quietly
doing something else than the user wrote. Example::

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
    strict_yesno = true
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvipsniff.analysis.rules import CATALOGUE
from cvipsniff.errors import UsageError
from dissectors import registry
from dissectors.options import OptionError, did_you_mean

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
        """The grade the user gave the rule in ``[rules.severity]``, else ``default``: the
        severity the dissector or rule decided for this occurrence (never the catalogue's
        typical grade: a rule may be an error in one message and a warning in another)."""
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


_SECTIONS: dict[str, tuple[str, ...]] = {
    "rules": ("disable", "only", "severity", "action"),
    "report": ("fail_on", "baseline"),
    "ports": ("decode_as",),
    "live": ("unanswered_timeout_s",),
}


def _from_dict(data: dict[str, Any], source: str) -> AnalysisConfig:
    """The settings of one file's table. Every mistake is a UsageError naming the key:
    an unknown section or key, a rule pattern that matches no rule, a value outside its
    choices, a dissector option the dissector does not know."""
    protocols = registry()
    _known_keys(data, (*_SECTIONS, *protocols), "", source, "section")
    cfg = AnalysisConfig(source=source)
    rules = _table(data, "rules", source)
    _known_keys(rules, _SECTIONS["rules"], "rules.", source)
    cfg.disable = _rule_patterns(_str_list(rules.get("disable", []), "rules.disable", source),
                                 f"{source}: rules.disable")
    cfg.only = _rule_patterns(_str_list(rules.get("only", []), "rules.only", source),
                              f"{source}: rules.only")
    for rid, sev in _table(rules, "severity", source).items():
        check_rule_pattern(rid, f"{source}: rules.severity", glob_only=True)
        if sev not in SEVERITIES:
            raise UsageError(f"{source}: rules.severity.{rid} must be one of "
                             f"{', '.join(SEVERITIES)}, not {sev!r}"
                             f"{did_you_mean(str(sev), SEVERITIES)}")
        cfg.severity[rid] = sev
    for rid, act in _table(rules, "action", source).items():
        check_rule_pattern(rid, f"{source}: rules.action", glob_only=True)
        if act not in ACTIONS:
            raise UsageError(f"{source}: rules.action.{rid} must be one of "
                             f"{', '.join(ACTIONS)}, not {act!r}{did_you_mean(str(act), ACTIONS)}")
        cfg.action[rid] = act
    report = _table(data, "report", source)
    _known_keys(report, _SECTIONS["report"], "report.", source)
    fail_on = report.get("fail_on", cfg.fail_on)
    if fail_on not in FAIL_ON:
        raise UsageError(f"{source}: report.fail_on must be one of {', '.join(FAIL_ON)}, "
                         f"not {fail_on!r}{did_you_mean(str(fail_on), FAIL_ON)}")
    cfg.fail_on = fail_on
    baseline = report.get("baseline")
    if baseline is not None:
        if not isinstance(baseline, str):
            raise UsageError(f"{source}: report.baseline must be a file name")
        cfg.baseline = baseline
    ports = _table(data, "ports", source)
    _known_keys(ports, _SECTIONS["ports"], "ports.", source)
    cfg.decode_as = _str_list(ports.get("decode_as", []), "ports.decode_as", source)
    live = _table(data, "live", source)
    _known_keys(live, _SECTIONS["live"], "live.", source)
    timeout = live.get("unanswered_timeout_s", cfg.unanswered_timeout_s)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise UsageError(f"{source}: live.unanswered_timeout_s must be a positive number")
    cfg.unanswered_timeout_s = float(timeout)
    for proto, spec in protocols.items():
        options = _table(data, proto, source)
        if not options:
            continue
        if spec.check_options is not None:
            try:
                spec.check_options(options)
            except OptionError as exc:
                raise UsageError(f"{source}: [{proto}] {exc}") from None
        cfg.dissector_options[proto] = dict(options)
    return cfg


def _known_keys(table: dict[str, Any], known: tuple[str, ...], prefix: str, source: str,
                what: str = "key") -> None:
    for key in table:
        if key not in known:
            raise UsageError(f"{source}: unknown {what} {prefix}{key}"
                             f"{did_you_mean(key, known)} (known: {', '.join(known)})")


def check_rule_pattern(pattern: str, where: str, *, glob_only: bool = False) -> None:
    """A rule id or glob must name at least one rule of the catalogue (a typo would
    otherwise disable, re-grade or select nothing, silently). ``where`` starts the line."""
    ids = CATALOGUE.keys()
    if glob_only:
        hit = any(fnmatch.fnmatchcase(rid, pattern) for rid in ids)
    else:
        hit = any(_matches(rid, [pattern]) for rid in ids)
    if not hit:
        raise UsageError(f"{where}: {pattern!r} matches no rule{did_you_mean(pattern, ids)} "
                         "(cvipsniff rules lists them)")


def _rule_patterns(patterns: list[str], where: str) -> list[str]:
    for pattern in patterns:
        check_rule_pattern(pattern, where)
    return patterns


def select_rules(config: AnalysisConfig, only: list[str], skip: list[str]) -> None:
    """Add the command line's ``--rule``/``--skip-rule`` to ``config``, each checked
    like the config file's patterns (one that matches no rule is a usage error)."""
    config.only.extend(_rule_patterns(list(only), "--rule"))
    config.disable.extend(_rule_patterns(list(skip), "--skip-rule"))


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"{source}: [{key}] must be a table")
    return value


def _str_list(value: Any, name: str, source: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{source}: {name} must be a list of strings")
    return list(value)
