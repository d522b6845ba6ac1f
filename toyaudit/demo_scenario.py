"""The demo's scenario: the fictional toy and family the bundled demo shows.

Everything here describes "Bramble the Talking Bear" by the invented vendor
PlushPal Toys Ltd: the session written to ``session.yaml``, the child profile
written to ``persona.yaml`` and the toy's user agent. The namespace lab
(``tests/lab/demo.py``) plays the scenario through a simulated toy and cloud
and captures ``captures/demo-plushbear/`` with ``toyaudit capture``; tests
that build sessions of their own reuse the same family. All of it is made up
(``.example`` domains, a public landmark for the home).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

START = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
"""When the fictional capture began; every timestamp is an offset from it."""

SESSION: dict[str, Any] = {
    "toy": {
        "name": "Bramble the Talking Bear",
        "vendor": "PlushPal Toys Ltd",
        "model": "BRB-200",
        "firmware": "2.4.1",
    },
    "first_party_domains": ["plushpal.example"],
    "captured": {"at": "2026-11-20T10:00:00Z", "by": "toyaudit demo generator"},
    "phases": [
        {
            "name": "setup",
            "start": "2026-11-20T10:00:00Z",
            "end": "2026-11-20T10:05:00Z",
        },
        {
            "name": "play",
            "start": "2026-11-20T10:05:00Z",
            "end": "2026-11-20T10:15:00Z",
        },
    ],
}

PERSONA: dict[str, dict[str, Any]] = {
    "child": {
        "name": "Mirabel Quince",
        "first_name": "Mirabel",
        "birthdate": "2019-04-12",
        "school": "Larkspur Primary School",
    },
    "parent": {
        "name": "Hollis Quince",
        "email": "hollis.quince@example.org",
        "phone": "+44 7700 900123",
    },
    "home": {
        "address": "7 Thistledown Row, Little Amberley, AB12 3CD",
        # A public landmark (Greenwich observatory), so no real home is named.
        "coordinates": [51.47793, -0.00147],
    },
    "wifi": {"ssid": "QuinceHome-5G", "password": "Marmalade-Otter-42"},
    "toy": {"serial": "PPB2-00417-XK", "mac": "02:1a:7d:5e:33:c1"},
    "phone": {"advertising_id": "3f6c9a2e-8b1d-4e57-a9c4-71d2e0b5f816"},
}

TOY_AGENT = "PlushPal-Bramble/2.4.1"
"""The toy's HTTP user agent, as the lab's simulated toy sends it."""
