"""The messages the list displays: all of them, or those a display filter kept.

The list never holds a row object per message: it holds either nothing (every message,
position = store index) or one ``array`` of store indices in capture order (8 bytes per
displayed message), so a filter over a million messages costs megabytes, not hundreds.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator, Sequence
from typing import Protocol


class _Sized(Protocol):
    def __len__(self) -> int: ...


class MessageView:
    """Display positions → store indices.

    While no filter is applied the view is the identity over the store and grows with
    it. :meth:`apply` installs the array a filter fills; :meth:`extend_to` lets the view
    follow a store that grows while loading (unfiltered). A filtered view grows when
    whoever evaluates the filter appends to the installed array (and calls
    :meth:`touch`): a filter over a big capture shows its first matches at once.
    """

    def __init__(self, store: _Sized) -> None:
        self._store = store
        self._indices: array | None = None
        self._length = len(store)
        self.filter_text = ""
        self.generation = 0  # bumped on every change of what is displayed

    @property
    def filtered(self) -> bool:
        return self._indices is not None

    def __len__(self) -> int:
        return len(self._indices) if self._indices is not None else self._length

    def __getitem__(self, position: int) -> int:
        if self._indices is not None:
            return self._indices[position]
        if not 0 <= position < self._length:
            raise IndexError(position)
        return position

    def __iter__(self) -> Iterator[int]:
        if self._indices is not None:
            return iter(self._indices)
        return iter(range(self._length))

    def indices(self) -> Sequence[int]:
        """The displayed store indices as a sequence (no copy)."""
        return self._indices if self._indices is not None else range(self._length)

    def position_of(self, index: int) -> int | None:
        """Where store ``index`` is displayed, or None if the filter hides it."""
        if self._indices is None:
            return index if 0 <= index < self._length else None
        pos = bisect.bisect_left(self._indices, index)
        if pos < len(self._indices) and self._indices[pos] == index:
            return pos
        return None

    def nearest_position(self, index: int) -> int:
        """The position of ``index``, or of the first displayed message after it (the
        last one if none), for keeping the cursor near where it was."""
        if self._indices is None:
            return max(0, min(index, self._length - 1))
        pos = bisect.bisect_left(self._indices, index)
        return max(0, min(pos, len(self._indices) - 1))

    # ---- changes -----------------------------------------------------------------------

    def extend_to(self, store_length: int) -> None:
        """The store grew to ``store_length`` messages."""
        self._length = store_length
        if self._indices is None:
            self.generation += 1

    def apply(self, filter_text: str, indices: array | None) -> None:
        """Show ``indices`` (sorted store indices), or everything when None."""
        self.filter_text = filter_text if indices is not None else ""
        self._indices = indices
        self._length = len(self._store)
        self.generation += 1

    def touch(self) -> None:
        """The installed index array grew (a filter still running appends to it)."""
        self.generation += 1
