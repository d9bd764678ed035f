"""``python -m chatops.cli``: the same as the ``chatops`` command."""

from chatops.cli import main

raise SystemExit(main())
