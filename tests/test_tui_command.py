"""``cvipsniff tui`` on the command line: its options, and one clear line (exit 2) for
every way it cannot start. The running UI itself is tested in test_tui_tmux.py."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.cli_helpers import assert_clean_error, cli_env, run_cli, run_in_terminal

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "captures" / "demo.pcapng")


def test_help_lists_the_read_and_decode_options():
    result = run_cli("tui", "--help")
    assert result.code == 0
    for option in ("-r FILE", "--decode-as", "--no-heuristics", "--config", "--light"):
        assert option in result.stdout


def test_the_tui_is_listed_among_the_commands():
    result = run_cli("--help")
    assert result.code == 0 and "tui" in result.stdout


def test_without_a_terminal_it_says_what_to_use_instead():
    result = run_cli("tui", "-r", DEMO)
    assert_clean_error(result, "needs a terminal", "cvipsniff read")


def test_a_bare_capture_path_opens_the_tui():
    # `cvipsniff FILE` is `cvipsniff tui -r FILE`: the same refusal without a terminal.
    result = run_cli(DEMO)
    assert_clean_error(result, "needs a terminal")


def test_standard_input_is_refused():
    assert_clean_error(run_cli("tui", "-r", "-"), "give a capture file")


def test_a_missing_file_is_one_line():
    assert_clean_error(run_cli("tui", "-r", "/nonexistent/capture.pcapng"), "no such file")


def test_a_directory_is_one_line(tmp_path):
    assert_clean_error(run_cli("tui", "-r", str(tmp_path)), "is a directory")


def test_a_bad_decode_as_rule_is_one_line():
    assert_clean_error(run_cli("tui", "-r", DEMO, "-d", "tcp.port=80"), "decode-as")


def test_jobs_is_listed_and_must_be_a_whole_number():
    assert "-j N, --jobs N" in run_cli("tui", "--help").stdout
    assert_clean_error(run_cli("tui", "-r", DEMO, "-j", "0"), "--jobs", "≥ 1")
    assert_clean_error(run_cli("tui", "-r", DEMO, "--jobs", "two"), "--jobs")


def test_a_missing_file_argument_is_a_usage_error():
    assert_clean_error(run_cli("tui"), "-r")


def test_help_lists_the_live_options():
    result = run_cli("tui", "--help")
    for option in ("-i IFACE", "-w FILE", "-f BPF", "--backend", "--unanswered-timeout",
                   "Ctrl+E"):
        assert option in result.stdout, option


def test_a_file_and_an_interface_together_are_a_usage_error():
    assert_clean_error(run_cli("tui", "-r", DEMO, "-i", "lo"), "not allowed with")


def test_the_live_tui_cannot_write_its_capture_to_standard_output():
    assert_clean_error(run_cli("tui", "-i", "lo", "-w", "-"), "give -w a file name")


def test_a_live_tui_on_a_missing_interface_is_one_line_naming_the_fix():
    result = run_in_terminal([sys.executable, "-m", "cvipsniff", "tui", "-i", "nosuch0"],
                             env=cli_env())
    assert_clean_error(result, "cannot capture on 'nosuch0': no such interface",
                       "cvipsniff interfaces")


def test_a_live_tui_with_an_unwritable_capture_file_is_one_line(tmp_path):
    result = run_in_terminal([sys.executable, "-m", "cvipsniff", "tui", "-i", "lo", "-w",
                              str(tmp_path / "missing" / "x.pcapng")], env=cli_env())
    assert_clean_error(result, "x.pcapng")
