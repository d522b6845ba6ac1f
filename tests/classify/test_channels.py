"""The classifier on observations other than HTTP: MQTT, WebSocket, DHCP, BLE."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import get_args

from toyaudit.classify import Classifier, default_rules_dir, load_rules
from toyaudit.classify.classifier import _CHANNELS
from toyaudit.classify.detectors import CHANNELS
from toyaudit.ingest.records import (
    BleAddressType,
    BleAdvertisement,
    BleEncryption,
    BlePairing,
    BluetoothObservation,
    DhcpMessage,
    Endpoint,
    Evidence,
    GattOperation,
    HttpRequest,
    MqttMessage,
    NetworkObservation,
    PayloadKind,
    RawPayload,
    Transport,
    WebSocketMessage,
)

from .conftest import RulesClassifierFactory

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


_OGG = b"OggS\x00\x02" + bytes(range(256)) * 4


def test_classifier_mqtt_voice_as_payload_and_as_base64_in_json(
    classifier: Classifier,
) -> None:
    def publish(payload: bytes) -> MqttMessage:
        return MqttMessage(
            EVIDENCE, TOY, BROKER, Transport.PLAINTEXT, "publish", 4,
            topic="toys/TB22910047/voice", payload=payload,
        )  # fmt: skip

    wrapped = json.dumps({"audio": base64.b64encode(_OGG).decode()}).encode()

    assert ("MQTT payload", "voice-recording") in _found(classifier, publish(_OGG))
    assert ("MQTT payload JSON field 'audio'", "voice-recording") in _found(
        classifier, publish(wrapped)
    )


def test_classifier_websocket_voice_sent_not_received(classifier: Classifier) -> None:
    def message(from_client: bool) -> WebSocketMessage:
        return WebSocketMessage(
            EVIDENCE, TOY, BROKER, Transport.TLS, "ws.toyco.example", "/asr",
            from_client, False, _OGG,
        )  # fmt: skip

    [match] = classifier.classify(message(True))

    assert (match.location, match.category.id) == (
        "WebSocket message",
        "voice-recording",
    )
    assert match.value == f"Ogg audio, {round(len(_OGG) / 1024)} KB"
    assert classifier.classify(message(False)) == []


def test_classifier_udp_voice_stream_only_from_the_toy(classifier: Classifier) -> None:
    def stream(client: Endpoint, server: Endpoint) -> RawPayload:
        return RawPayload(
            EVIDENCE, client, server, "udp", True, PayloadKind.MEDIA, 65536,
            media_type="audio/rtp",
        )  # fmt: skip

    assert _found(classifier, stream(TOY, BROKER)) == {
        ("UDP payload", "voice-recording")
    }
    assert _found(classifier, stream(BROKER, TOY)) == set()


def test_classifier_gatt_audio_notified_by_the_toy_not_written_to_it(
    classifier: Classifier,
) -> None:
    def operation(from_central: bool) -> GattOperation:
        kind = "write" if from_central else "notify"
        return GattOperation(
            EVIDENCE, "C0:FF:EE:12:34:56", kind, 0x21, from_central, value=_OGG
        )

    assert _found(classifier, operation(False)) == {
        ("GATT value (handle 0x0021)", "voice-recording")
    }
    assert _found(classifier, operation(True)) == set()


def test_classifier_short_magic_counts_in_uploads_not_in_messages(
    classifier: Classifier,
) -> None:
    frames = b"\xff\xf1\x50\x80" + bytes(range(4, 200))  # ADTS sync: 12 fixed bits
    upload = HttpRequest(
        EVIDENCE, TOY, BROKER, Transport.TLS, "POST", "api.toyco.example",
        "/v1/clip", "", (("Content-Type", "application/octet-stream"),), frames,
    )  # fmt: skip
    message = WebSocketMessage(
        EVIDENCE, TOY, BROKER, Transport.TLS, "ws.toyco.example", "/telemetry",
        True, False, frames,
    )  # fmt: skip

    assert _found(classifier, upload) == {("request body", "voice-recording")}
    assert _found(classifier, message) == set()


_GATT_ONLY = """\
detectors:
  - id: toy-pin
    category: device-id
    description: The pairing PIN some toys expose in a GATT characteristic.
    channels: [gatt]
    parts: [body]
    value:
      patterns: ['PIN-[0-9]{4}']
    confidence: 0.9
    examples:
      positive: [{value: "PIN-1234", channel: gatt}]
      negative: [{value: "PIN-1234", channel: http}]
"""


def test_detector_limited_to_a_channel_fires_only_there(
    tmp_path: Path, classifier_with: RulesClassifierFactory
) -> None:
    (tmp_path / "pin.yaml").write_text(_GATT_ONLY, encoding="utf-8")
    classifier = classifier_with(load_rules([default_rules_dir(), tmp_path]))
    read = GattOperation(
        EVIDENCE, "C0:FF:EE:12:34:56", "read", 11, False, value=b"PIN-4821"
    )
    upload = HttpRequest(
        EVIDENCE, TOY, BROKER, Transport.TLS, "POST", "api.toyco.example", "/v1",
        "", (("Content-Type", "application/json"),), b'{"note": "PIN-4821"}',
    )  # fmt: skip
    publish = MqttMessage(
        EVIDENCE, TOY, BROKER, Transport.PLAINTEXT, "publish", 4,
        topic="toys/x", payload=b"PIN-4821",
    )  # fmt: skip

    def rules_of(observation: object) -> set[str]:
        return {m.rule for m in classifier.classify(observation)}  # type: ignore[arg-type]

    assert "toy-pin" in rules_of(read)
    assert "toy-pin" not in rules_of(upload)
    assert "toy-pin" not in rules_of(publish)
    assert "toy-pin" in rules_of(read)  # the GATT lens's cache gives the same


def test_every_kind_of_observation_has_a_channel_rules_can_name() -> None:
    kinds = set(get_args(NetworkObservation)) | set(get_args(BluetoothObservation))
    unread = {BlePairing, BleEncryption}  # facts about a link, no values in them

    channels = {kind: _CHANNELS.get(kind) for kind in kinds - unread}

    assert None not in channels.values(), channels
    assert set(channels.values()) <= set(CHANNELS)
    assert set(channels.values()) == set(CHANNELS)  # and every channel has a kind
