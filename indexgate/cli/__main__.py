"""``python -m indexgate.cli``: the ``indexgate`` command."""

import sys

from indexgate.cli import main

sys.exit(main())
