"""Bad input to the command line: one clear line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import os
import struct

import pytest

from tests.cli_helpers import assert_clean_error, run_cli

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)

COMMANDS = [("read", "-r"), ("flows", "-r")]


@pytest.mark.parametrize(("command", "flag"), COMMANDS)
def test_missing_file(command: str, flag: str, tmp_path) -> None:
    assert_clean_error(run_cli(command, flag, str(tmp_path / "nope.pcap")), "no such file")


@pytest.mark.parametrize(("command", "flag"), COMMANDS)
def test_directory_instead_of_file(command: str, flag: str, tmp_path) -> None:
    assert_clean_error(run_cli(command, flag, str(tmp_path)), "directory")


@pytest.mark.parametrize(("command", "flag"), COMMANDS)
def test_empty_file(command: str, flag: str, tmp_path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    assert_clean_error(run_cli(command, flag, str(path)), "empty")


@pytest.mark.parametrize(("command", "flag"), COMMANDS)
def test_random_bytes(command: str, flag: str, tmp_path) -> None:
    path = tmp_path / "random.pcap"
    path.write_bytes(os.urandom(4096))
    assert_clean_error(run_cli(command, flag, str(path)), "not a pcap or pcapng")


def test_report_on_unreadable_file_reports_it_and_exits_2(tmp_path) -> None:
    path = tmp_path / "random.pcap"
    path.write_bytes(b"\x00garbage" * 100)
    result = run_cli("report", str(path))
    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert "cannot analyse" in result.stderr


def test_truncated_pcap_is_read_with_a_note(tmp_path) -> None:
    frame = bytes(60)
    record = struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame
    path = tmp_path / "cut.pcap"
    path.write_bytes(PCAP_HEADER + record + record[:30])
    result = run_cli("read", "-r", str(path), "--notes")
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "capture.truncated_record" in result.stdout


def test_unknown_option(tmp_path) -> None:
    path = tmp_path / "x.pcap"
    path.write_bytes(PCAP_HEADER)
    assert_clean_error(run_cli("read", "-r", str(path), "--no-such-option"),
                       "unrecognized arguments")


def test_missing_required_option() -> None:
    assert_clean_error(run_cli("read"), "required: -r/--read-file")


def test_unknown_command() -> None:
    assert_clean_error(run_cli("frobnicate"), "invalid choice")


def test_bad_decode_as(tmp_path) -> None:
    path = tmp_path / "x.pcap"
    path.write_bytes(PCAP_HEADER)
    assert_clean_error(run_cli("read", "-r", str(path), "-d", "tcp.port=8000"), "decode-as")
    assert_clean_error(run_cli("read", "-r", str(path), "-d", "tcp.port==8000,http"),
                       "unknown protocol")


def test_follow_unknown_flow(tmp_path) -> None:
    path = tmp_path / "x.pcap"
    path.write_bytes(PCAP_HEADER)
    assert_clean_error(run_cli("follow", "-r", str(path), "3"), "no flow 3")


def test_bad_config_file(tmp_path) -> None:
    (tmp_path / "cvipsniff.toml").write_text("[rules\n")
    path = tmp_path / "x.pcap"
    path.write_bytes(PCAP_HEADER)
    assert_clean_error(run_cli("report", str(path), cwd=tmp_path), "not valid TOML")
