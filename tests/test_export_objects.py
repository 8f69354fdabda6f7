"""``read --export-objects imageserver,DIR``: every ImageResponse body and part as a file
a real JPEG decoder opens, generic byte data with its decoded payload, a manifest that
says where each came from, and names no capture can steer out of DIR."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import dissectors
from cvipsniff.export_objects import ObjectExporter, object_name, objects_of, safe_piece
from cvipsniff.model import Message
from tests.cli_helpers import ROOT, assert_clean_error, run_cli

DEMO = str(ROOT / "captures" / "demo.pcapng")


def export(tmp_path: Path, *extra: str) -> tuple[Path, list[dict[str, str]]]:
    out = tmp_path / "objects"
    result = run_cli("read", "-r", DEMO, "-q", "-z", "expert",
                     "--export-objects", f"imageserver,{out}", *extra)
    assert result.code == 0, result.stderr
    with open(out / "manifest.csv", newline="") as handle:
        return out, list(csv.DictReader(handle))


def test_every_body_part_and_payload_is_saved_and_listed(tmp_path: Path) -> None:
    out, rows = export(tmp_path)
    files = sorted(p.name for p in out.iterdir() if p.name != "manifest.csv")
    assert sorted(r["file"] for r in rows) == files
    assert files == sorted(files, key=lambda n: (n.split("_")[0], n.split("_")[1]))
    shown = run_cli("read", "-r", DEMO, "-T", "fields", "-e", "message", "-e", "frame",
                    "-e", "imageserver.multipart", "-Y",
                    'imageserver.kind == "imageresponse"').stdout.splitlines()
    expected = {}
    for line in shown:
        number, frames, parts = line.split("\t")
        expected[number] = (frames.replace(",", " "), int(parts or 0))
    assert {r["message"] for r in rows} == set(expected)
    for r in rows:
        frames, parts = expected[r["message"]]
        assert r["frames"] == frames
        assert (out / r["file"]).stat().st_size == int(r["size"])
        if parts:
            assert 1 <= int(r["part"]) <= parts
    kinds = {(r["object"], Path(r["file"]).suffix) for r in rows}
    assert {("body", ".jpg"), ("part", ".gbd"), ("payload", ".jpg")} <= kinds


def test_exported_jpegs_decode_with_a_real_decoder(tmp_path: Path) -> None:
    djpeg = shutil.which("djpeg")
    if djpeg is None:
        pytest.skip("djpeg not installed (scripts/bootstrap.sh installs it)")
    out, rows = export(tmp_path)
    jpegs = [r for r in rows if r["file"].endswith(".jpg")]
    assert len(jpegs) > 10
    sizes: dict[str, set[tuple[bytes, bytes]]] = {}
    for line in run_cli("read", "-r", DEMO, "-T", "fields", "-e", "message", "-e",
                        "imageserver.jpeg.width", "-e", "imageserver.jpeg.height", "-Y",
                        "imageserver.jpeg.width").stdout.splitlines():
        number, widths, heights = line.split("\t")
        sizes[number] = set(zip(widths.encode().split(b","), heights.encode().split(b","),
                                strict=True))
    for r in jpegs:
        decoded = subprocess.run([djpeg, "-pnm", str(out / r["file"])], capture_output=True,
                                 check=True).stdout
        # the dimensions the dissector read from the SOF marker of that message
        assert tuple(decoded.split()[1:3]) in sizes[r["message"]], r["file"]
        assert not subprocess.run([djpeg, str(out / r["file"])], capture_output=True
                                  ).stderr, r["file"]  # no "premature end" or bad data


def test_payload_is_the_jpeg_inside_its_gbd_part(tmp_path: Path) -> None:
    out, rows = export(tmp_path)
    payload = next(r for r in rows if r["object"] == "payload")
    part = next(r for r in rows if r["object"] == "part" and r["message"] == payload["message"]
                and r["part"] == payload["part"])
    inner = (out / payload["file"]).read_bytes()
    assert inner.startswith(b"\xff\xd8") and inner in (out / part["file"]).read_bytes()


def test_display_filter_chooses_the_messages(tmp_path: Path) -> None:
    _, rows = export(tmp_path, "-Y", "imageserver.requestid == 3")
    assert rows and {r["requestid"] for r in rows} == {"3"}


def test_a_second_export_into_the_same_directory_keeps_the_first(tmp_path: Path) -> None:
    out, _ = export(tmp_path)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    export(tmp_path)
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert all(after[name] == data for name, data in before.items())
    assert "manifest-1.csv" in after and len(after) == 2 * len(before)


HOSTILE = (b"ImageResponse\r\nRequestId: ../../../etc/passwd\r\nCurrent: 1\r\n"
           b"Content-length: 4\r\nContent-type: ../../../tmp/evil/..\r\n\r\n"
           b"\xff\xd8\xff\xd9\r\n\r\n")


def hostile_message(number: int = 1) -> Message:
    record = dissectors.registry()["imageserver"].dissect(HOSTILE, "tcp")
    return Message(number, 0, 1, "tcp", ("10.0.0.1", 7563), ("10.0.0.2", 5000), [3],
                   1_700_000_000_000_000_000, 1_700_000_000_000_000_000, 0, len(HOSTILE),
                   record, HOSTILE)


def test_names_from_hostile_values_stay_inside_the_directory(tmp_path: Path) -> None:
    msg = hostile_message()
    (obj,) = objects_of(msg)
    name = object_name(msg, obj)
    assert "/" not in name and ".." not in name and not name.startswith(".")
    target = tmp_path / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    exporter = ObjectExporter(str(target))
    # A planted symlink with the very name is neither followed nor overwritten.
    os.symlink(outside / "stolen.jpg", target / name)
    assert exporter.add(msg) == 1
    exporter.close()
    assert not (outside / "stolen.jpg").exists()
    written = [p for p in target.iterdir() if not p.is_symlink() and p.suffix == ".jpg"]
    assert len(written) == 1 and written[0].read_bytes() == b"\xff\xd8\xff\xd9"
    assert list(outside.iterdir()) == []
    for p in tmp_path.rglob("*"):
        assert p == outside or p.resolve().is_relative_to(target) or p.is_symlink()


@pytest.mark.parametrize("value,expected", [("../../x", "x"), ("", "none"), ("a/b\\c", "a-b-c"),
                                            ("..", "none"), ("é" * 80, "none")])
def test_safe_piece(value: str, expected: str) -> None:
    assert safe_piece(value, "none") == expected


@pytest.mark.parametrize("spec,needle", [("http,out", "no objects"), ("imageserver", "DIRECTORY")])
def test_bad_export_spec_is_one_line(spec: str, needle: str) -> None:
    assert_clean_error(run_cli("read", "-r", DEMO, "--export-objects", spec), needle)
