"""Regenerate the XML example files in this folder from the CVIPv2 document.

Each example is a line range of ``cvipv2-protocol.txt`` copied verbatim, malformations
included, with only the PDF-to-text conversion's own artifacts taken out: the ``- ``
list bullets in front of some example lines, the Markdown code fences (lines that are
just three backticks), and the document's "response" label that the conversion joined
onto the getProperties call's last line. Run from the repository root:

    .venv/bin/python tests/data/cvip/extract_examples.py ../shared/spec/cvipv2-protocol.txt
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# file name → (first line, last line), 1-based and inclusive.
EXAMPLES: dict[str, tuple[int, int]] = {
    "system_describe_call.xml": (949, 955),
    "system_describe_response.xml": (959, 979),
    "system_listServices_call.xml": (994, 997),
    "system_listServices_response.xml": (1001, 1012),
    "system_listEvents_call.xml": (1028, 1028),
    "system_listEvents_response.xml": (1032, 1044),
    "service_listEvents_call.xml": (1060, 1066),
    "service_listEvents_response.xml": (1070, 1096),
    "service_describe_call.xml": (1114, 1117),
    "service_describe_response.xml": (1121, 1130),
    "service_listProperties_call.xml": (1156, 1161),
    "service_listProperties_response.xml": (1166, 1189),
    "service_listFunctions_call.xml": (1208, 1214),
    "service_listFunctions_response.xml": (1218, 1238),
    "service_listParameters_call.xml": (1268, 1273),
    "service_listParameters_response.xml": (1277, 1310),
    "service_getProperties_call.xml": (1340, 1348),
    "service_getProperties_response.xml": (1351, 1357),
    "service_setProperties_call.xml": (1367, 1374),
    "startFirmwareUpdate_call.xml": (1399, 1425),
    "getProgressInfo_call.xml": (1445, 1448),
    "getProgressInfo_response.xml": (1452, 1461),
    "analytics_data.xml": (1699, 1722),
    "ptz_cmd_call.xml": (1770, 1794),
}


def clean(line: str) -> str | None:
    """A document line with the conversion's artifacts removed (None: drop the line)."""
    if line.strip() == "```":
        return None
    if line.startswith("- "):
        line = line[2:]
    if line.rstrip().endswith("</methodCall> response"):
        line = line.rstrip()[: -len(" response")]
    return line


def main(spec_path: str) -> None:
    lines = Path(spec_path).read_text(encoding="utf-8").splitlines()
    for name, (first, last) in EXAMPLES.items():
        kept = [c for c in (clean(x) for x in lines[first - 1:last]) if c is not None]
        (HERE / name).write_text("\n".join(kept) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
