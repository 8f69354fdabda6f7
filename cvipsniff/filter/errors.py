"""The one exception the filter language raises: a mistake in the filter text.

The TUI shows it inline under the filter box (it needs the position to place a caret) and
the CLI prints it on one line and exits 2, so the message is a single line that names the
column and, where a likely intended spelling exists, suggests it.
"""

from __future__ import annotations


class FilterError(ValueError):
    """A filter that cannot be compiled.

    ``position`` is the 0-based character offset of the offending text in the filter and
    ``length`` how many characters it spans (at least 1), so a UI can underline it;
    ``column`` (1-based) is what the message itself quotes.
    """

    def __init__(self, message: str, position: int, length: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.position = max(0, position)
        self.length = max(1, length)

    @property
    def column(self) -> int:
        return self.position + 1

    def __str__(self) -> str:
        return self.message
