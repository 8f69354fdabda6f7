"""The terminal UI (``cvipsniff tui -r FILE``, or ``cvipsniff FILE``), built on Textual.

* :mod:`.app` — the application and its views; :mod:`.screens` — one module per view;
  :mod:`.widgets` — the line-rendered message list and tables, details tree, hex pane,
  filter bar and status line;
* :mod:`.session`, :mod:`.view`, :mod:`.transactions` — what the UI knows about the
  capture, kept compact (columns and index arrays) so a million messages stay light;
* :mod:`.loader` — the pipeline and analysis run in a worker thread, delivered in batches;
* :mod:`.filtering`, :mod:`.search`, :mod:`.export` — the long jobs, in time-boxed slices.

Only :mod:`.app` and the screens import Textual's widgets; the session, loader and jobs
are plain Python and tested without a terminal.
"""
