"""Tests of what every record answers: the host it went to and how it travelled."""

from __future__ import annotations

import pytest

from toyaudit.ingest.records import (
    BleAddressType,
    BleAdvertisement,
    BleEncryption,
    BlePairing,
    DhcpMessage,
    DnsName,
    DnsQuery,
    Endpoint,
    Evidence,
    GattOperation,
    HttpRequest,
    MqttMessage,
    Observation,
    PairingMethod,
    PayloadKind,
    RawPayload,
    TlsClientHello,
    TlsServerHello,
    Transport,
    host_of,
    transport_of,
)

PCAP = Evidence("traffic.pcap", (7,))
TOY = Endpoint("192.168.4.20", 50123)
SERVER = Endpoint("203.0.113.9", 443)


def _request(host: str, transport: Transport = Transport.PLAINTEXT) -> HttpRequest:
    return HttpRequest(PCAP, TOY, SERVER, transport, "POST", host, "/v1", "", (), b"{}")


def _hello(sni: str | None) -> TlsClientHello:
    return TlsClientHello(PCAP, TOY, SERVER, sni, 0x0303)


def _mqtt(evidence: Evidence = PCAP) -> MqttMessage:
    return MqttMessage(evidence, TOY, SERVER, Transport.TLS, "publish", 4)


GATT = GattOperation(PCAP, "C0:FF:EE:00:00:01", "write", 0x2A, True)


@pytest.mark.parametrize(
    ("observation", "host"),
    [
        (_request("api.toy.example"), "api.toy.example"),
        (_request(""), "203.0.113.9"),
        (_hello("cdn.toy.example"), "cdn.toy.example"),
        (_hello(None), "203.0.113.9"),
        (
            DnsQuery(PCAP, TOY, Endpoint("192.168.4.1", 53), "toy.example", 1),
            "toy.example",
        ),
        (DhcpMessage(PCAP, TOY, SERVER, "02:1a:7d:5e:33:c1", 3), "02:1a:7d:5e:33:c1"),
        (
            BleAdvertisement(PCAP, "C0:FF:EE:00:00:01", BleAddressType.PUBLIC),
            "C0:FF:EE:00:00:01",
        ),
        (GATT, "C0:FF:EE:00:00:01"),
        (
            BlePairing(
                PCAP, "C0:FF:EE:00:00:02", PairingMethod.JUST_WORKS, False, False, True
            ),
            "C0:FF:EE:00:00:02",
        ),
        (_mqtt(), "203.0.113.9"),
    ],
)
def test_host_of_names_the_host_as_reports_do(
    observation: Observation, host: str
) -> None:
    assert host_of(observation) == host


def test_host_of_prefers_the_name_the_client_looked_up() -> None:
    named = DnsName("mqtt.toy.example", "203.0.113.9", Evidence("traffic.pcap", (2,)))

    assert host_of(_mqtt(Evidence("traffic.pcap", (7,), dns_name=named))) == (
        "mqtt.toy.example"
    )


@pytest.mark.parametrize(
    ("observation", "transport"),
    [
        (_hello("cdn.toy.example"), Transport.TLS),
        (TlsServerHello(PCAP, TOY, SERVER, 0x0304, 0x1301), Transport.TLS),
        (_request("api.toy.example"), Transport.PLAINTEXT),
        (_request("api.toy.example", Transport.TLS), Transport.TLS),
        (_mqtt(), Transport.TLS),
        (
            RawPayload(PCAP, TOY, SERVER, "udp", True, PayloadKind.MEDIA, 160),
            Transport.PLAINTEXT,
        ),
        (GATT, Transport.BLUETOOTH),
        (
            GattOperation(
                PCAP, "C0:FF:EE:00:00:01", "read", 0x2A, True, encrypted_link=True
            ),
            Transport.BLUETOOTH_ENCRYPTED,
        ),
        (BleEncryption(PCAP, "C0:FF:EE:00:00:01"), Transport.BLUETOOTH),
        (
            DnsQuery(PCAP, TOY, Endpoint("192.168.4.1", 53), "toy.example", 1),
            Transport.PLAINTEXT,
        ),
    ],
)
def test_transport_of_says_how_the_observation_travelled(
    observation: Observation, transport: Transport
) -> None:
    assert transport_of(observation) == transport
