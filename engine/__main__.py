"""``python -m engine``: the headless command line (no Qt)."""

import sys

from engine.cli import main

sys.exit(main())
