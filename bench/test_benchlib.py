"""The benches' cost meter counts each process once, under its own name."""

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import CostMeter

pytestmark = pytest.mark.unit

BURN = """
import sys, time
end = time.process_time() + 0.6
while time.process_time() < end:
    pass
print("burnt", flush=True)
sys.stdin.read()
"""


def test_a_named_child_is_counted_under_its_own_name_not_also_under_its_parent() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        processes = {"parent": psutil.Process(), "child": psutil.Process(child.pid)}
        with CostMeter(processes) as meter:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "burnt"  # the parent only waits meanwhile
        assert meter.cpu["child"] >= 0.5
        assert meter.cpu["parent"] < 0.3, "the child's CPU was counted with its parent's too"
    finally:
        child.kill()
        child.wait()
