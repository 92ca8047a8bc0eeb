import asyncio
import re

import pytest
from tandem_chassis.testing import Platform
from tandem_cli.main import app
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


def _args(platform: Platform) -> list[str]:
    return [
        "demo",
        "--employees",
        "40",
        "--seed",
        "7",
        "--profiles-url",
        platform["profiles"].url,
        "--matching-url",
        platform["matching"].url,
        "--notifications-url",
        platform["notifications"].url,
        "--relationships-url",
        platform["relationships"].url,
        "--bootstrap-servers",
        platform.bootstrap,
        "--topic-prefix",
        platform.env["TANDEM_KAFKA_TOPIC_PREFIX"],
        "--group-prefix",
        platform.env["TANDEM_KAFKA_GROUP_PREFIX"],
        "--secret",
        platform.env["TANDEM_JWT_SECRET"],
        "--timeout",
        "60",
    ]


async def test_the_demo_walks_a_small_organisation_through_a_matching_round(platform):
    result = await asyncio.to_thread(CliRunner().invoke, app, _args(platform), env={"COLUMNS": "200"})

    print(result.output)  # the demo as a user sees it, with -s
    assert result.exit_code == 0, result.output
    matched = re.search(r"round matched (\d+) mentee", result.output)
    assert matched, result.output
    assert int(matched.group(1)) > 0, result.output
    assert "Suggested mentors for" in result.output
    assert "Mentor load" in result.output
    assert "Notifications" in result.output
    after = result.output.split("After the match")[-1]
    assert "After the match" in result.output, result.output
    assert "agreement signed by both" in after
    assert "ended as not a fit; re-matched" in after
    assert "final assessment: goals achieved yes" in after
    assert "do not happen in this run" in result.output  # no clock offset in the test: said so
    report = result.output.split("tandem report ")[-1]
    assert "Program health" in report and "Program outcomes" in report, result.output
    assert "pairs healthy" in report and "would recommend" in report
    assert "Learned weights" in report and "more needed" in report  # too few outcomes yet: said so


async def test_with_the_relationships_clock_ahead_the_demo_answers_pulses_and_a_quiet_pair_goes_inactive(
    isolated_settings, tmp_path
):
    ahead = isolated_settings | {"TANDEM_CLOCK_OFFSET_S": str(35 * 86400), "TANDEM_STEPS_INTERVAL_S": "2"}
    platform = Platform(ahead, tmp_path)
    try:
        await platform.start()
        result = await asyncio.to_thread(CliRunner().invoke, app, _args(platform), env={"COLUMNS": "200"})
    finally:
        platform.stop()

    print(result.output)
    assert result.exit_code == 0, result.output
    assert "clock runs 35 days ahead" in result.output
    after = result.output.split("After the match")[-1]
    assert "pulse survey answered: mentee satisfaction 2/5" in after
    assert "inactive, the program's admins alerted" in after
    assert ": health inactive" in after and ": health at_risk" in after  # the quiet pair, the low pulse
