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
    report = result.output.split("tandem report ")[-1]
    assert "Program health" in report and "Program outcomes" in report, result.output
    assert "pairs healthy" in report and "would recommend" in report
