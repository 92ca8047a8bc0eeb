import asyncio
import re

import pytest
from tandem_cli.main import app
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


async def test_the_demo_walks_a_small_organisation_through_a_matching_round(platform):
    args = [
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
    result = await asyncio.to_thread(CliRunner().invoke, app, args, env={"COLUMNS": "200"})

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
