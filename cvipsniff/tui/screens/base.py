"""What every view of the capture shares: access to the session, and being told when it
changed (more messages loaded, loading finished)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

from cvipsniff.tui.session import CaptureSession, Ingested

if TYPE_CHECKING:
    from cvipsniff.tui.app import CvipsniffApp


class SessionScreen(Screen):
    """A screen showing part of the app's :class:`CaptureSession`."""

    @property
    def cvipsniff(self) -> CvipsniffApp:
        return cast("CvipsniffApp", self.app)

    @property
    def session(self) -> CaptureSession:
        return self.cvipsniff.session

    def session_changed(self, ingested: Ingested | None) -> None:
        """The session grew (``ingested``) or should be looked at again (None: the
        screen was switched to). Views refresh what they show."""

    def on_screen_resume(self) -> None:
        self.session_changed(None)
