"""``python -m cvipsniff`` is the same as the ``cvipsniff`` command."""

from cvipsniff.cli import main

raise SystemExit(main())
