"""Entry point of the order journal process: ``python -m engine.journal.order_writer_child DB``.

A module of its own, so that running it does not import the module it runs twice.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from engine.journal.order_writer_process import serve

if __name__ == "__main__":
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s order-journal %(levelname)s %(message)s"
    )
    sys.exit(serve(Path(sys.argv[1])))
