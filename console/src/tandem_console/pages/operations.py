"""Operations: service readiness, consumer lag per topic and dead letters (``tandem status``'s code)."""

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Request
from starlette.responses import Response
from tandem_cli.errors import CliError
from tandem_cli.status import GROUPS, kafka_report, service_health

from tandem_console.web import Operator, render

__all__ = ["router"]

router = APIRouter()


@router.get("/ops")
async def operations_page(request: Request, user: Operator) -> Response:
    settings = request.app.state.settings
    health = await service_health(settings.service_urls)
    report, kafka_error = None, None
    try:
        report = await kafka_report(
            settings.kafka_bootstrap_servers,
            topic_prefix=settings.kafka_topic_prefix,
            group_prefix=settings.kafka_group_prefix,
        )
    except CliError as error:
        kafka_error = str(error)
    except (KafkaError, OSError) as error:
        # e.g. offsets of very many .dlq topics on a shared broker did not come back in time
        kafka_error = f"Kafka did not answer in time ({type(error).__name__}: {error})"
    return render(
        request,
        "operations.html",
        user=user,
        health=health,
        report=report,
        kafka_error=kafka_error,
        groups=[f"{settings.kafka_group_prefix}{g}" for g in GROUPS],
        topic_prefix=settings.kafka_topic_prefix,
    )
