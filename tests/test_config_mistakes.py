"""Configuration mistakes are usage errors: exit status 2 and one line naming the key (with
the nearest known name where there is one), never a setting quietly ignored."""

from __future__ import annotations

import json

import pytest

from cvipsniff.cli import main
from tests.cli_helpers import ROOT, assert_clean_error, run_cli

DEMO = str(ROOT / "captures" / "demo.pcapng")

# (config file text, words the error line must contain)
CONFIG_MISTAKES = [
    ('[rules]\ndisabled = ["tcp.gap"]\n', ["unknown key rules.disabled",
                                          "did you mean 'disable'"]),
    ('[report]\nfailon = "warning"\n', ["unknown key report.failon",
                                       "did you mean 'fail_on'"]),
    ('[report]\nfail_on = "warn"\n', ["report.fail_on", "not 'warn'",
                                      "did you mean 'warning'"]),
    ('[ports]\ndecode = []\n', ["unknown key ports.decode", "did you mean 'decode_as'"]),
    ('[live]\ntimeout = 3\n', ["unknown key live.timeout"]),
    ('[rule]\ndisable = []\n', ["unknown section rule", "did you mean 'rules'"]),
    ('[rules]\ndisable = ["tcp.retransmision"]\n', ["rules.disable", "'tcp.retransmision'",
                                                   "matches no rule",
                                                   "did you mean 'tcp.retransmission'"]),
    ('[rules]\ndisable = ["cvip.methd.*"]\n', ["rules.disable", "'cvip.methd.*'",
                                              "matches no rule"]),
    ('[rules.severity]\n"cvip.header.byteorder" = "info"\n',
     ["rules.severity", "matches no rule", "did you mean 'cvip.header.byte_order'"]),
    ('[rules.severity]\n"cvip.header.byte_order" = "note"\n',
     ["rules.severity.cvip.header.byte_order", "not 'note'"]),
    ('[rules.action]\n"tcp.out_of_ordr" = "once"\n',
     ["rules.action", "matches no rule", "did you mean 'tcp.out_of_order'"]),
    ('[rules.action]\n"tcp.out_of_order" = "per-flow"\n',
     ["rules.action.tcp.out_of_order", "did you mean 'per_flow'"]),
    ('[cvip]\nack_tabel = "either"\n', ["[cvip] unknown option 'ack_tabel'",
                                       "did you mean 'ack_table'"]),
    ('[cvip]\nguid_format = "uuid"\n', ["[cvip] option 'guid_format' must be one of",
                                       "not 'uuid'"]),
    ('[cvip]\nxml_depth_cap = "64"\n', ["[cvip] option 'xml_depth_cap' must be an integer"]),
    ('[imageserver]\nstrict_yesno = "yes"\n',
     ["[imageserver] option 'strict_yesno' must be true or false"]),
    ('[imageserver]\nmask_secrets = true\n', ["[imageserver] unknown option 'mask_secrets'"]),
]


@pytest.mark.parametrize(("toml", "needles"), CONFIG_MISTAKES,
                         ids=[m[1][0] for m in CONFIG_MISTAKES])
def test_config_mistake_is_a_usage_error(toml: str, needles: list[str], tmp_path,
                                         capsys) -> None:
    config = tmp_path / "cvipsniff.toml"
    config.write_text(toml)
    assert main(["report", "--config", str(config), DEMO]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"cvipsniff: {config}: "), err
    for needle in needles:
        assert needle in err[0], (needle, err[0])


def test_pyproject_section_is_checked_the_same_way(tmp_path, capsys) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.cvipsniff.report]\nfail_no = "never"\n')
    assert main(["rules", "--config", str(tmp_path / "pyproject.toml")]) == 2
    assert "unknown key report.fail_no" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value", "needle"), [
    ("--rule", "cvip.txn.unanswred", "did you mean 'cvip.txn.unanswered'"),
    ("--skip-rule", "tcp.gapp", "did you mean 'tcp.gap'"),
    ("--rule", "nothing.*", "matches no rule"),
])
def test_rule_option_matching_nothing_is_a_usage_error(flag: str, value: str, needle: str,
                                                       capsys) -> None:
    assert main(["report", flag, value, DEMO]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"cvipsniff: {flag}: {value!r}"), err
    assert needle in err[0]


def test_rule_groups_and_globs_that_match_are_accepted(capsys) -> None:
    assert main(["report", "--format", "json", "--rule", "cvip.txn", "--skip-rule",
                 "tcp.*", "--fail-on", "never", DEMO]) == 0
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["files"][0]["findings"]}
    assert rules and all(r.startswith("cvip.txn.") for r in rules)


@pytest.mark.parametrize(("content", "needle"), [
    ({"version": 1, "files": []}, "no 'findings' list"),
    ({"tool": "ruff", "findings": []}, "written by 'ruff'"),
    ([1, 2], "no 'findings' list"),
    ({"findings": [{"file": "x"}]}, "entry without 'rule'"),
])
def test_baseline_of_another_tool_is_a_usage_error(content: object, needle: str,
                                                   tmp_path) -> None:
    baseline = tmp_path / "other.json"
    baseline.write_text(json.dumps(content))
    result = run_cli("report", "--baseline", str(baseline), DEMO)
    assert_clean_error(result, "is not a cvipsniff baseline", needle)
