"""Tests of the MQTT reader against packets built by scapy and by hand (MQTT 5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.contrib import mqtt as scapy_mqtt

from toyaudit.ingest.mqtt import MAX_PACKET, MqttPacket, MqttReader, looks_like_connect
from toyaudit.ingest.records import MqttMessage, RawPayload
from toyaudit.ingest.streambuf import StreamBuffer

MQTT: Any = scapy_mqtt.MQTT
MQTTConnect: Any = scapy_mqtt.MQTTConnect
MQTTPublish: Any = scapy_mqtt.MQTTPublish


class FakeSink:
    def __init__(self) -> None:
        self.packets: list[MqttPacket] = []

    def add_mqtt(self, packet: MqttPacket, frames: list[int]) -> None:
        self.packets.append(packet)


def _connect() -> bytes:
    return bytes(
        MQTT()
        / MQTTConnect(
            protoname=b"MQTT",
            protolevel=4,
            clientId=b"bear-0042",
            usernameflag=1,
            username=b"toy",
            passwordflag=1,
            password=b"s3cret",
        )
    )


def _read(stream: bytes, piece: int = 5) -> list[MqttPacket]:
    sink = FakeSink()
    reader = MqttReader(sink)
    buffer = StreamBuffer()
    for start in range(0, len(stream), piece):
        buffer.append(stream[start : start + piece], 1)
        reader.feed(buffer)
    return sink.packets


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        encoded.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(encoded)


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


def _text(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


def test_mqtt_reads_connect_and_publish_in_a_capture(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    publish = bytes(
        MQTT(QOS=1) / MQTTPublish(topic=b"toys/42/audio", msgid=7, value=b"{'k':1}")
    )
    ping = b"\xc0\x00"
    conversation = talk(server=("10.0.0.1", 1883))
    conversation.handshake()
    conversation.send(_connect())
    conversation.send(b"\x20\x02\x00\x00", from_client=False)  # CONNACK
    conversation.send(ping + publish)
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    connect, message = observations
    assert isinstance(connect, MqttMessage) and isinstance(message, MqttMessage)
    assert (connect.packet_type, connect.protocol_level) == ("connect", 4)
    assert (connect.client_id, connect.username) == ("bear-0042", "toy")
    assert connect.password == b"s3cret" and connect.evidence.packets == (4,)
    assert (message.topic, message.payload) == ("toys/42/audio", b"{'k':1}")
    assert not any(isinstance(item, RawPayload) for item in observations)


def test_mqtt5_properties_will_and_topic_alias() -> None:
    properties = (
        b"\x11\x00\x00\x00\x3c" + b"\x21\x00\x10"
    )  # session expiry, receive max
    will = b"\x00" + _text(b"will/topic") + _text(b"bye")
    connect = _packet(
        0x10,
        _text(b"MQTT")
        + b"\x05\xc6\x00\x3c"
        + _varint(len(properties))
        + properties
        + _text(b"bear-5")
        + will
        + _text(b"user")
        + _text(b"pw"),
    )
    aliased = b"\x23\x00\x02" + b"\x26" + _text(b"k") + _text(b"v")
    first = _packet(
        0x32, _text(b"t/a") + b"\x00\x01" + _varint(len(aliased)) + aliased + b"one"
    )
    second = _packet(0x30, _text(b"") + b"\x03\x23\x00\x02" + b"two")

    packets = _read(connect + first + second)

    assert packets == [
        MqttPacket("connect", 5, "bear-5", "user", b"pw"),
        MqttPacket("publish", 5, topic="t/a", payload=b"one"),
        MqttPacket("publish", 5, topic="t/a", payload=b"two"),
    ]


def test_mqtt_recognises_connect_by_content_only() -> None:
    assert looks_like_connect(_connect()) is True
    assert looks_like_connect(b"\x10\x15\x00") is None
    assert looks_like_connect(b"\x10\x0c\x00\x04HTTP\x04\x00") is False
    assert looks_like_connect(b"GET / HTTP/1.1") is False


def test_mqtt_oversized_publish_keeps_its_start_and_skips_the_rest() -> None:
    payload = b"a" * (MAX_PACKET + 5000)
    huge = _packet(0x30, _text(b"big") + payload)

    packets = _read(_connect() + huge + _packet(0x30, _text(b"next") + b"x"), 65536)

    assert [packet.topic for packet in packets] == [None, "big", "next"]
    big = packets[1]
    assert big.payload == payload[: MAX_PACKET - 5] and packets[2].payload == b"x"


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mqtt_survives_mutated_streams(data: st.DataObject) -> None:
    stream = bytearray(_connect() + bytes(MQTT() / MQTTPublish(topic=b"t", value=b"v")))
    for _ in range(data.draw(st.integers(0, 6))):
        position = data.draw(st.integers(0, len(stream) - 1))
        stream[position] = data.draw(st.integers(0, 255))
    tail = data.draw(st.binary(max_size=64))

    packets = _read(bytes(stream) + tail, data.draw(st.integers(1, 40)))

    assert all(packet.packet_type in ("connect", "publish") for packet in packets)
