from importlib.metadata import version

import pytest
from tandem_chassis.asyncapi import SERVICES, document
from tandem_chassis.settings import ServiceSettings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_gets_an_asyncapi_3_document_with_every_event_of_its_topics(service):
    settings = ServiceSettings(service_name=service, kafka_topic_prefix="")
    spec = document(service, settings)
    assert spec["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in spec["channels"].values()}
    assert addresses == set(SERVICES[service]["receives"]) | set(SERVICES[service]["sends"])
    for operation in spec["operations"].values():
        assert operation["channel"]["$ref"].removeprefix("#/channels/") in spec["channels"]
    for channel in spec["channels"].values():
        for ref in channel["messages"].values():
            assert ref["$ref"].removeprefix("#/components/messages/") in spec["components"]["messages"]


def test_profiles_document_describes_the_hr_contract():
    messages = document("profiles")["components"]["messages"]
    joined = messages["hr_employee_joined"]["payload"]
    assert set(joined["required"]) == {"employee_id", "display_name"}, "email is optional"


def test_servers_topics_and_partitions_come_from_the_settings_and_the_version_from_the_package():
    settings = ServiceSettings(
        service_name="matching",
        kafka_bootstrap_servers="kafka-0.example:9093, kafka-1.example:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="tandem",
        kafka_topic_partitions=12,
        kafka_replication_factor=3,
        kafka_topic_prefix="staging.",
    )

    spec = document("matching", settings)

    assert spec["info"]["version"] == version("tandem-matching")
    assert spec["servers"] == {
        "kafka-1": {
            "host": "kafka-0.example:9093",
            "protocol": "kafka-secure",
            "description": "SASL SCRAM-SHA-512",
        },
        "kafka-2": {
            "host": "kafka-1.example:9093",
            "protocol": "kafka-secure",
            "description": "SASL SCRAM-SHA-512",
        },
    }
    profiles = spec["channels"]["tandem_profiles"]
    assert profiles["address"] == "staging.tandem.profiles"
    assert profiles["bindings"]["kafka"] == {
        "topic": "staging.tandem.profiles",
        "partitions": 12,
        "replicas": 3,
    }


def test_by_default_the_document_describes_the_deployment_of_the_environment(monkeypatch):
    monkeypatch.setenv("TANDEM_KAFKA_BOOTSTRAP_SERVERS", "broker.internal:9092")
    monkeypatch.setenv("TANDEM_KAFKA_TOPIC_PARTITIONS", "3")

    spec = document("notifications")

    assert spec["servers"] == {"kafka": {"host": "broker.internal:9092", "protocol": "kafka"}}
    assert {c["bindings"]["kafka"]["partitions"] for c in spec["channels"].values()} == {3}
