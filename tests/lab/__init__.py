"""A network-namespace lab where a simulated toy talks to a simulated cloud.

Tests of ``toyaudit capture`` and the script that regenerates the bundled demo
use it to run a real capture (mitmdump in transparent mode, scapy sniffing)
against a toy that behaves like the demo's "Bramble the Talking Bear": the
same fictional child, family and serial, talking to ``api``, ``voice``,
``media`` and ``mqtt.plushpal.example`` and to ``telemetry.tracker.example``.

Everything stays inside namespaces the lab creates (needs root and iproute2):

* ``tlab-<id>-toy``: the toy, with the persona's MAC, at ``10.77.<n>.2``;
  its gateway is the host's ``tlab<id>h`` at ``10.77.<n>.1``, the "hotspot";
* ``tlab-<id>-cloud``: DNS (UDP 53), HTTP (80), HTTPS (443, certificates from
  a per-run lab CA, chosen by SNI) and an MQTT 3.1.1 broker (1883), at
  ``10.88.<n>.2`` and one address per server name; each logs what it got.

The host forwards between the two links; nothing reaches the real network.
Every run has its own id and subnet, and starts by sweeping leftovers of
crashed runs (see :mod:`tests.lab.host`).

The driver API::

    from tests.lab import Lab

    with Lab() as lab:                      # raises LabError if it cannot build
        lab.hotspot_interface               # "tlab3fa2h": sniff / redirect here
        lab.toy_mac, lab.toy_ip             # "02:1a:7d:5e:33:c1", "10.77.n.2"
        lab.gateway_ip, lab.dns_server      # "10.77.n.1", "10.88.n.2"
        lab.server_addresses                # {"api.plushpal.example": "10.88.n.10"...}
        lab.ca_path                         # lab CA, for mitmdump's option
                                            #   ssl_verify_upstream_trusted_ca
        summary = lab.run_toy(timeout=30)   # ToySummary; LabError on hang/crash
        summary.ok, summary.step("stories").attempts
        logs = lab.server_logs()            # ServerLogs: dns, http, https, mqtt
        logs.requests("/v1/profile")        # read logs before the block ends

``lab.start_toy()`` returns a :class:`ToyRun` to wait on later, for a toy that
runs while something else happens. Without an interception every step of the
toy succeeds; behind one, the careless steps (``profile``, ``voice``,
``telemetry``) are decrypted by the proxy and the careful one (``stories``)
shows ``("certificate-rejected", "answered")`` once the capture passes its
retry through. IPv4 forwarding is turned on for the lab's lifetime and
restored after the last lab ends, after any capture run inside it.
"""

from tests.lab.host import LabError
from tests.lab.lab import Lab, ToyRun
from tests.lab.records import ServerLogs, ToyStep, ToySummary

__all__ = ["Lab", "LabError", "ServerLogs", "ToyRun", "ToyStep", "ToySummary"]
