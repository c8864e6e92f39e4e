"""`relevo webhook serve` with the dispatcher's watch intervals given on the command line, for the kill trial.

    python -m tests.scale.receiver REGISTRY PORT [STUCK_SECONDS] [FOLLOW_SECONDS]

The defaults (Dispatcher.STUCK_SECONDS, FOLLOW_SECONDS) make a killed worker's Pending runs wait 5 min
before they are replaced; a trial may shorten that to see the recovery sooner, and says so.
"""

from __future__ import annotations

import sys

from relevo.receiver.dispatcher import Dispatcher
from relevo.receiver.webhook import serve


def main(argv: list[str]) -> None:
    registry, port = argv[0], int(argv[1])
    if len(argv) > 2:
        Dispatcher.STUCK_SECONDS = float(argv[2])
    if len(argv) > 3:
        Dispatcher.FOLLOW_SECONDS = float(argv[3])
    serve(registry, "127.0.0.1", port, worker_registry=registry)  # the workers run on this machine


if __name__ == "__main__":
    main(sys.argv[1:])
