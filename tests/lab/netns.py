"""The lab's topology: a toy namespace and a cloud namespace, routed by the host.

::

    toy namespace            host                     cloud namespace
    tlab-<id>-toy                                     tlab-<id>-cloud
    tlab<id>t 10.77.n.2 ── tlab<id>h 10.77.n.1
    (the toy's MAC)        (the "hotspot")
                           tlab<id>u 10.88.n.1 ── tlab<id>c 10.88.n.2, .10, .11...

The host side of the toy's veth pair plays the laptop's hotspot interface, so
``toyaudit capture`` can sniff it and redirect its TCP. The cloud namespace
holds one address per server name. Nothing is NATed to the real uplink: the
toy's default route ends at the host, which only knows the cloud's subnet.

IPv6 address generation is off on every lab interface, so a capture holds the
toy's IPv4 traffic and no router solicitations or neighbour discovery.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tests.lab.host import PREFIX, run_ip

logger = logging.getLogger(__name__)

FIRST_SERVER_HOST = 10
"""The last octet of the first server address in the cloud subnet."""


@dataclass(frozen=True, slots=True)
class Topology:
    """The names and addresses of one lab run, all derived from its id and subnet."""

    lab_id: str
    subnet: int
    toy_mac: str
    """The toy's MAC: locally administered, so a BPF filter can select it."""
    gateway_mac: str
    """The hotspot interface's MAC, the toy's gateway."""
    server_names: tuple[str, ...]
    """The names the cloud answers for, each on its own address."""

    @property
    def toy_namespace(self) -> str:
        """The network namespace the simulated toy runs in."""
        return f"{PREFIX}-{self.lab_id}-toy"

    @property
    def cloud_namespace(self) -> str:
        """The network namespace the cloud services run in."""
        return f"{PREFIX}-{self.lab_id}-cloud"

    @property
    def hotspot_interface(self) -> str:
        """The host side of the toy's link: what a capture sniffs."""
        return f"{PREFIX}{self.lab_id}h"

    @property
    def toy_interface(self) -> str:
        """The toy's own interface, inside the toy namespace."""
        return f"{PREFIX}{self.lab_id}t"

    @property
    def uplink_interface(self) -> str:
        """The host side of the cloud's link."""
        return f"{PREFIX}{self.lab_id}u"

    @property
    def cloud_interface(self) -> str:
        """The cloud's interface, inside the cloud namespace."""
        return f"{PREFIX}{self.lab_id}c"

    @property
    def gateway_ip(self) -> str:
        """The hotspot interface's address: the toy's default gateway."""
        return f"10.77.{self.subnet}.1"

    @property
    def toy_ip(self) -> str:
        """The toy's address."""
        return f"10.77.{self.subnet}.2"

    @property
    def uplink_ip(self) -> str:
        """The host's address on the cloud link."""
        return f"10.88.{self.subnet}.1"

    @property
    def cloud_ip(self) -> str:
        """The cloud's main address, where its DNS server listens."""
        return f"10.88.{self.subnet}.2"

    @property
    def server_addresses(self) -> Mapping[str, str]:
        """Each server name's address in the cloud subnet."""
        return {
            name: f"10.88.{self.subnet}.{FIRST_SERVER_HOST + index}"
            for index, name in enumerate(self.server_names)
        }


def build_commands(topology: Topology) -> list[Sequence[str]]:
    """The ``ip`` commands that build ``topology``, in order."""
    toy, cloud = topology.toy_namespace, topology.cloud_namespace
    hotspot, toy_link = topology.hotspot_interface, topology.toy_interface
    uplink, cloud_link = topology.uplink_interface, topology.cloud_interface
    commands: list[Sequence[str]] = [
        ("netns", "add", toy),
        ("netns", "add", cloud),
        ("link", "add", hotspot, "address", topology.gateway_mac, "type", "veth")
        + ("peer", "name", toy_link, "address", topology.toy_mac, "netns", toy),
        ("link", "add", uplink, "type", "veth", "peer", "name", cloud_link)
        + ("netns", cloud),
    ]
    commands += _side(None, hotspot, f"{topology.gateway_ip}/24")
    commands += _side(None, uplink, f"{topology.uplink_ip}/24")
    commands += _side(toy, toy_link, f"{topology.toy_ip}/24")
    commands += _side(cloud, cloud_link, f"{topology.cloud_ip}/24")
    for address in topology.server_addresses.values():
        commands.append(
            ("-n", cloud, "addr", "add", f"{address}/24", "dev", cloud_link)
        )
    commands += [
        ("-n", toy, "route", "add", "default", "via", topology.gateway_ip),
        ("-n", cloud, "route", "add", "default", "via", topology.uplink_ip),
    ]
    return commands


def _side(namespace: str | None, interface: str, address: str) -> list[Sequence[str]]:
    """Address one end of a link and bring it (and the namespace's lo) up."""
    where = ("-n", namespace) if namespace else ()
    commands: list[Sequence[str]] = [
        (*where, "link", "set", "dev", interface, "addrgenmode", "none"),
        (*where, "addr", "add", address, "dev", interface),
        (*where, "link", "set", "dev", interface, "up"),
    ]
    if namespace:
        commands.append((*where, "link", "set", "dev", "lo", "up"))
    return commands


def build(topology: Topology) -> None:
    """Create the namespaces, links, addresses and routes of ``topology``.

    Raises LabError at the first command that fails; the caller tears down
    whatever was created (see :func:`tests.lab.host.remove_resources`).
    """
    for command in build_commands(topology):
        logger.debug("ip %s", " ".join(command))
        run_ip(*command)
