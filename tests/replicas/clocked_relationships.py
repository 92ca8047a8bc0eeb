"""The relationships service on a clock a test sets: ``python clocked_relationships.py <file>``.

The service's own ``SettableClock`` stands still at the ISO 8601 moment the file holds and is set
to whatever the file says next (read every 50 ms), so a test moves the clock of every replica at
once by rewriting one file (atomically: write another, then rename it over this one).
"""

import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from tandem_chassis import serve
from tandem_relationships.bootstrap import build_app
from tandem_relationships.config import Settings
from tandem_relationships.service_layer.clock import SettableClock

FOLLOW_S = 0.05


def follow(path: Path, clock: SettableClock) -> None:
    while True:
        clock.set(datetime.fromisoformat(path.read_text()))
        time.sleep(FOLLOW_S)


def main() -> None:
    path = Path(sys.argv[1])
    clock = SettableClock(datetime.fromisoformat(path.read_text()))
    threading.Thread(target=follow, args=(path, clock), name="clock", daemon=True).start()
    settings = Settings()
    serve(build_app(settings, clock=clock), settings)


if __name__ == "__main__":
    main()
