"""The relationships service on a clock a test sets: ``python clocked_relationships.py <file> [lag]``.

The service's own ``SettableClock`` stands still at the ISO 8601 moment the file holds and is set
to whatever the file says next (read every 50 ms), so a test moves the clock of every replica by
rewriting one file (atomically: write another, then rename it over this one). With ``lag``
(seconds) the clock follows the file that much later: replicas' clocks never agree exactly.
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


def follow(path: Path, clock: SettableClock, lag_s: float) -> None:
    shown = path.read_text()
    while True:
        read = path.read_text()
        if read != shown:
            shown = read
            time.sleep(lag_s)
            clock.set(datetime.fromisoformat(read))
        time.sleep(FOLLOW_S)


def main() -> None:
    path = Path(sys.argv[1])
    lag_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    clock = SettableClock(datetime.fromisoformat(path.read_text()))
    threading.Thread(target=follow, args=(path, clock, lag_s), name="clock", daemon=True).start()
    settings = Settings()
    serve(build_app(settings, clock=clock), settings)


if __name__ == "__main__":
    main()
