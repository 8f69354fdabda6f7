"""``read``'s one-line output is made without the dissection tree (lean mode): it must be
what the full dissection prints, on every bundled capture."""

from __future__ import annotations

import pytest

from cvipsniff import cli
from cvipsniff.commands import read
from tests.cli_helpers import BUNDLED_CAPTURES, ROOT

CAPTURES = BUNDLED_CAPTURES


def _read(capsys, monkeypatch, *argv: str, tree: bool | None) -> str:
    if tree is not None:
        monkeypatch.setattr(read, "needs_tree", lambda args, flt: tree)
    code = cli.main(["read", *argv])
    out = capsys.readouterr().out
    assert code == 0
    return out


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_one_line_output_is_the_same_without_the_tree(capture, capsys, monkeypatch) -> None:
    path = str(capture)
    full = _read(capsys, monkeypatch, "-r", path, "--notes", tree=True)
    lean = _read(capsys, monkeypatch, "-r", path, "--notes", tree=False)
    assert lean == full


def test_the_tree_is_built_only_when_something_shows_it(capsys, monkeypatch) -> None:
    seen: list[bool] = []
    real = read.needs_tree

    def spy(args, flt):
        seen.append(real(args, flt))
        return seen[-1]

    monkeypatch.setattr(read, "needs_tree", spy)
    demo = str(ROOT / "captures" / "demo.pcapng")
    for argv in (["-r", demo], ["-r", demo, "-Y", "frame.number > 3"], ["-r", demo, "-x"],
                 ["-r", demo, "-V"], ["-r", demo, "-T", "jsonl"],
                 ["-r", demo, "-Y", "cvip.method"], ["-r", demo, "-q", "-z", "srt"]):
        cli.main(["read", *argv])
        capsys.readouterr()
    assert seen == [False, False, False, True, True, True, True]
