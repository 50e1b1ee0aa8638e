"""``python -m cockpit``: same as the ``crucible`` command."""

import sys

from cockpit.cli import main

sys.exit(main())
