"""The CLI's tables show the report as the matching service states it."""

import pytest
from rich.console import Console
from tandem_cli.views import round_tables

pytestmark = pytest.mark.unit


def test_the_mentor_load_table_reads_the_histogram_as_mentees_per_mentor_to_mentors():
    report = {
        "round_id": "r-1",
        "status": "completed",
        "matched": 7,
        "unmatched": [],
        "mentor_load": {"0": 4, "1": 3, "2": 2},  # 3x1 + 2x2 = 7 mentees on 9 mentors
    }
    console = Console(width=120, record=True)
    for table in round_tables(report):
        console.print(table)
    rows = {
        tuple(cell for cell in line.replace("│", " ").split() if cell.isdigit())
        for line in console.export_text().splitlines()
        if "█" in line
    }
    assert rows == {("0", "4"), ("1", "3"), ("2", "2")}
