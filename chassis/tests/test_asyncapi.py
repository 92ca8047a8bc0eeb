import pytest
from tandem_chassis.asyncapi import SERVICES, document

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_gets_an_asyncapi_3_document_with_every_event_of_its_topics(service):
    spec = document(service)
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
