"""Tests of the DHCP reader against messages built by scapy."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from toyaudit.ingest.dhcp import DhcpRequest, parse_dhcp
from toyaudit.ingest.records import DhcpMessage, Endpoint

MAC = "02:1a:7d:5e:33:c1"


def _request(*options: Any, op: int = 1) -> bytes:
    return bytes(
        BOOTP(op=op, chaddr=bytes.fromhex(MAC.replace(":", "")) + b"\x00" * 10)
        / DHCP(options=[*options, "end"])
    )


def test_dhcp_reads_fields_scapy_wrote(read_capture: Any) -> None:
    packet = (
        Ether(src=MAC)
        / IP(src="0.0.0.0", dst="255.255.255.255")  # noqa: S104 - DHCP discover
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=bytes.fromhex(MAC.replace(":", "")))
        / DHCP(
            options=[
                ("message-type", "request"),
                ("hostname", b"Teddy-Bear-42"),
                ("vendor_class_id", b"android-dhcp-13"),
                ("requested_addr", "192.168.1.77"),
                "pad",
                "end",
            ]
        )
    )

    observations, _ = read_capture([packet])

    (message,) = observations
    assert isinstance(message, DhcpMessage)
    assert message.client_mac == MAC and message.message_type == 3
    assert message.host_name == "Teddy-Bear-42"
    assert message.vendor_class == "android-dhcp-13"
    assert message.requested_address == "192.168.1.77"
    assert message.server == Endpoint("255.255.255.255", 67)


def test_dhcp_ignores_server_replies_and_missing_cookie() -> None:
    assert parse_dhcp(_request(("message-type", "offer"), op=2)) is None
    assert parse_dhcp(bytes(BOOTP(op=1)) + b"\x00" * 8) is None


def test_dhcp_reads_overloaded_file_and_sname_fields() -> None:
    message = bytearray(
        _request(("message-type", "discover"), ("dhcp-option-overload", 3))
    )
    message[108:121] = b"\x0c\x0afile-host!\xff"  # option 12 in the file field
    message[44:62] = b"\x3c\x0fvendor-in-sname\xff"  # option 60 in sname

    request = parse_dhcp(bytes(message))

    assert request == DhcpRequest(MAC, 1, "file-host!", "vendor-in-sname", None)


def test_dhcp_joins_split_option_instances() -> None:
    split = _request(("hostname", b"long-"), ("hostname", b"name"))

    request = parse_dhcp(split)

    assert request is not None and request.host_name == "long-name"
    assert request.message_type == 0


@settings(max_examples=300, deadline=None)
@given(options=st.binary(max_size=120), header=st.binary(min_size=236, max_size=236))
def test_dhcp_survives_random_options(options: bytes, header: bytes) -> None:
    message = b"\x01" + header[1:] + b"\x63\x82\x53\x63" + options

    request = parse_dhcp(message)

    assert request is not None and 0 <= request.message_type <= 255
