"""What the small modal dialogs (export, save) share: a bordered box in the middle of
the screen, a row of buttons on the right, Escape to cancel."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal form; subclasses compose a ``Vertical`` whose last row is a
    ``Horizontal`` with the class ``dialog-buttons``, and dismiss with their result (None
    when cancelled)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > Vertical { width: 70; max-width: 100%; height: auto; padding: 0 1;
                        border: round $primary; background: $surface; }
    Dialog Horizontal { height: auto; }
    Dialog .dialog-buttons { align-horizontal: right; height: auto; }
    Dialog Button { margin-left: 1; min-width: 10; }
    """

    def action_cancel(self) -> None:
        self.dismiss(None)
