"""The classifier on observations other than HTTP: MQTT, WebSocket, DHCP, BLE."""

from __future__ import annotations

import json

from toyaudit.classify import Classifier
from toyaudit.ingest.records import (
    BleAddressType,
    BleAdvertisement,
    DhcpMessage,
    Endpoint,
    Evidence,
    GattOperation,
    MqttMessage,
    PayloadKind,
    RawPayload,
    Transport,
    WebSocketMessage,
)

TOY = Endpoint("192.168.1.20", 50111)
BROKER = Endpoint("203.0.113.7", 1883)
EVIDENCE = Evidence("traffic.pcap", (7,))


def _found(classifier: Classifier, observation: object) -> set[tuple[str, str]]:
    matches = classifier.classify(observation)  # type: ignore[arg-type]
    return {(match.location, match.category.id) for match in matches}


def test_classifier_mqtt_publish_payload_and_connect_fields(
    classifier: Classifier,
) -> None:
    message = MqttMessage(
        EVIDENCE, TOY, BROKER, Transport.PLAINTEXT, "publish", 4,
        client_id="TB22910047", topic="toys/TB22910047/profile",
        payload=json.dumps({"child": "Mia Lopez"}).encode(),
    )  # fmt: skip

    found = _found(classifier, message)

    assert ("MQTT payload JSON field 'child'", "child-name") in found
    assert ("MQTT client id", "device-id") in found


def test_classifier_websocket_only_outgoing_messages(classifier: Classifier) -> None:
    def message(from_client: bool) -> WebSocketMessage:
        return WebSocketMessage(
            EVIDENCE, TOY, BROKER, Transport.TLS, "ws.toyco.example", "/chat",
            from_client, True, b"hello from Mia Lopez",
        )  # fmt: skip

    assert ("WebSocket message", "child-name") in _found(classifier, message(True))
    assert _found(classifier, message(False)) == set()


def test_classifier_plaintext_tcp_payload(classifier: Classifier) -> None:
    payload = RawPayload(
        EVIDENCE, TOY, BROKER, "tcp", True, PayloadKind.PLAINTEXT, 40,
        b"HELLO serial=TB22910047 mail=ana.lopez@example.com",
    )  # fmt: skip

    found = _found(classifier, payload)

    assert ("TCP payload", "device-id") in found
    assert ("TCP payload", "email-address") in found


def test_classifier_dhcp_host_name_with_child_name(classifier: Classifier) -> None:
    dhcp = DhcpMessage(
        EVIDENCE, Endpoint("0.0.0.0", 68), Endpoint("255.255.255.255", 67),  # noqa: S104
        "a4:cf:12:3b:9e:01", 3, host_name="Mia-Bear",
    )  # fmt: skip

    assert ("DHCP host name", "child-name") in _found(classifier, dhcp)


def test_classifier_ble_name_and_gatt_value(classifier: Classifier) -> None:
    advertisement = BleAdvertisement(
        EVIDENCE, "C0:FF:EE:12:34:56", BleAddressType.PUBLIC, name="Mia Lopez bear"
    )
    read = GattOperation(
        EVIDENCE, "C0:FF:EE:12:34:56", "read", 11, False, value=b"serial TB22910047"
    )

    assert ("BLE advertised name", "child-name") in _found(classifier, advertisement)
    assert ("GATT value (handle 0x000b)", "device-id") in _found(classifier, read)
