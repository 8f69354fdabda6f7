"""The multipart body of an ImageResponse (section "goto › Response - Browse with
multipart"): ``--B`` CRLF, part headers (Content-length, Content-type), blank line, data,
CRLF, ... , ``--B--``.

Each part's Content-length is trusted only when the next delimiter sits exactly where it
points; otherwise the delimiter found by searching wins (MIME forbids the boundary inside
the data) and the length is reported as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import headers
from .headers import BLANK_LINE, CRLF, HeaderLine


@dataclass(slots=True)
class Part:
    index: int  # 1-based
    start: int  # offset of its "--B" delimiter line in the message
    headers: list[HeaderLine]
    body_start: int
    body_end: int
    declared: int | None  # its Content-length, if a number

    @property
    def size(self) -> int:
        return self.body_end - self.body_start


@dataclass(slots=True)
class Multipart:
    boundary: str
    parts: list[Part] = field(default_factory=list)
    closed: bool = False
    end: int = -1  # one past the closing "--B--"
    structure: list[tuple[str, int, int]] = field(default_factory=list)  # (message, off, len)
    # (part index, declared Content-length, bytes actually before the next delimiter)
    length_mismatches: list[tuple[int, int, int]] = field(default_factory=list)
    capped: bool = False


def walk(data: bytes, start: int, end: int, boundary: str, max_parts: int,
         truncated: bool = False) -> Multipart:
    """Parts of the multipart body in ``data[start:end]`` (``end`` excludes the trailer).

    ``truncated``: the message was cut (no trailer); a body ending without its closing
    boundary is then expected, not a fault of the sender.
    """
    result = Multipart(boundary)
    dash = b"--" + boundary.encode("latin-1", errors="replace")
    delimiter = CRLF + dash
    if data.startswith(dash, start):
        pos = start
    else:
        found = data.find(delimiter, start, end)
        if found < 0:
            result.structure.append(("no boundary delimiter in the body", start, end - start))
            return result
        pos = found + len(CRLF)
        result.structure.append((
            f"{pos - start} bytes before the first boundary delimiter", start, pos - start))
    while True:
        after = pos + len(dash)
        if data.startswith(b"--", after):
            result.closed, result.end = True, after + 2
            if result.end != end:
                result.structure.append((
                    f"{end - result.end} bytes after the closing boundary",
                    result.end, end - result.end))
            return result
        if len(result.parts) >= max_parts:
            result.capped = True
            result.structure.append((f"more than {max_parts} parts; the rest is not shown",
                                     pos, end - pos))
            return result
        if not data.startswith(CRLF, after):
            line_end = data.find(CRLF, after, end)
            result.structure.append(("boundary delimiter not followed by CR-LF", pos,
                                     after - pos))
            if line_end < 0:
                return result
            after = line_end
        head_start = after + len(CRLF)
        if data.startswith(CRLF, head_start):  # a part without headers
            head_end, body_start = head_start, head_start + len(CRLF)
        else:
            head_end = data.find(BLANK_LINE, head_start, end)
            if head_end < 0:
                if not truncated:
                    result.structure.append(("part headers never end", pos, end - pos))
                return result
            body_start = head_end + len(BLANK_LINE)
        lines = [headers.parse_line(data, o, n)
                 for o, n in headers.split_lines(data, head_start, head_end)]
        length_line = headers.find(lines, "Content-length")
        declared = headers.content_length(length_line.value) if length_line else None
        index = len(result.parts) + 1
        if declared is not None and data.startswith(delimiter, body_start + declared) \
                and body_start + declared + len(delimiter) <= end:
            body_end = body_start + declared
        else:
            body_end = data.find(delimiter, body_start, end)
            unterminated = body_end < 0
            if unterminated:
                body_end = end
            if declared is not None and declared != body_end - body_start and not (
                    unterminated and truncated):
                result.length_mismatches.append((index, declared, body_end - body_start))
            if unterminated:
                result.parts.append(Part(index, pos, lines, body_start, body_end, declared))
                if not truncated:
                    result.structure.append((
                        f"no boundary after part {index}: closing --{boundary}-- missing",
                        body_start, end - body_start))
                return result
        result.parts.append(Part(index, pos, lines, body_start, body_end, declared))
        pos = body_end + len(CRLF)
