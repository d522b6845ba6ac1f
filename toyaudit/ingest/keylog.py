"""Read NSS key logs: the TLS secrets a client wrote down while it was captured.

A key log is the text that ``SSLKEYLOGFILE`` makes NSS, OpenSSL, BoringSSL,
curl, browsers and Python's ``ssl`` write, one secret a line::

    # comment
    CLIENT_RANDOM <client random, 64 hex> <master secret, 96 hex>       (TLS 1.2)
    CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random> <secret>          (TLS 1.3)
    SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0

The same text travels inside pcapng files in Decryption Secrets Blocks of
type ``TLSK`` (what ``editcap --inject-secrets`` writes). :class:`KeyLog`
gathers every source into one lookup by client random, the value that ties
a secret to the connection whose ClientHello carried it.

A line that cannot be read is counted in :attr:`KeyLog.malformed` and never
stops the reading: a key log written by a crashing app is still worth using.
Labels that name secrets toyaudit does not use (0-RTT early traffic,
exporters, ECH, the legacy ``RSA`` pre-master form) are counted in
:attr:`KeyLog.ignored`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from toyaudit.errors import IngestError

logger = logging.getLogger(__name__)

TLS_KEY_LOG = 0x544C534B
"""Secrets type of a pcapng Decryption Secrets Block holding an NSS key log
("TLSK")."""

TLS12_MASTER = "CLIENT_RANDOM"
"""Label of the TLS 1.2 (and earlier) master secret."""
CLIENT_HANDSHAKE = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
"""Label of the TLS 1.3 client handshake traffic secret (RFC 8446 §7.1)."""
SERVER_HANDSHAKE = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
"""Label of the TLS 1.3 server handshake traffic secret."""
CLIENT_TRAFFIC = "CLIENT_TRAFFIC_SECRET_0"
"""Label of the first TLS 1.3 client application traffic secret."""
SERVER_TRAFFIC = "SERVER_TRAFFIC_SECRET_0"
"""Label of the first TLS 1.3 server application traffic secret."""

_SECRET_LENGTHS: dict[str, tuple[int, ...]] = {
    TLS12_MASTER: (48,),
    CLIENT_HANDSHAKE: (32, 48),
    SERVER_HANDSHAKE: (32, 48),
    CLIENT_TRAFFIC: (32, 48),
    SERVER_TRAFFIC: (32, 48),
}
"""Labels read, and the secret lengths they allow (SHA-256 or SHA-384 sized)."""

_IGNORED_LABELS = frozenset(
    {
        "CLIENT_EARLY_TRAFFIC_SECRET",
        "EARLY_EXPORTER_SECRET",
        "EXPORTER_SECRET",
        "ECH_SECRET",
        "ECH_CONFIG",
        "RSA",
    }
)
"""Well-formed labels whose secrets toyaudit does not use."""

MAX_EXAMPLES = 5
"""Malformed lines remembered by location, for the coverage note."""


class KeyLog:
    """TLS secrets by client random, gathered from key log files and pcapng blocks."""

    def __init__(self) -> None:
        self._secrets: dict[bytes, dict[str, bytes]] = {}
        self.malformed = 0
        """Lines that could not be read, over every source."""
        self.malformed_examples: list[str] = []
        """Where the first malformed lines are, as ``source:line``."""
        self.ignored = 0
        """Well-formed lines of labels that are not used (early data, exporters)."""
        self.other_secrets = 0
        """pcapng Decryption Secrets Blocks of a type other than TLS key log."""

    @classmethod
    def from_file(cls, path: Path) -> KeyLog:
        """Read the key log file at ``path``.

        Raises :class:`IngestError` when the file cannot be read at all; lines
        that cannot be parsed are only counted.
        """
        keylog = cls()
        keylog.add_file(path)
        return keylog

    def add_file(self, path: Path) -> None:
        """Add the secrets of the key log file at ``path``, line by line."""
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                self._add_lines(handle, path.name)
        except OSError as error:
            raise IngestError(
                f"{path}: cannot read the TLS key log ({error.strerror or error})",
                "check the path given for the key log, or leave it out to audit "
                "the encrypted traffic by its metadata only",
            ) from error

    def add_text(self, text: str, source: str = "key log") -> None:
        """Add the secrets of key log text; ``source`` names it in notes."""
        self._add_lines(text.splitlines(), source)

    def add_decryption_secrets(self, secrets_type: int, secrets: bytes) -> None:
        """Add the contents of a pcapng Decryption Secrets Block.

        Fits :func:`toyaudit.ingest.pcapfile.read_frames`' ``secrets`` callback.
        Blocks of another secrets type (WireGuard, ZigBee...) are only counted.
        """
        if secrets_type != TLS_KEY_LOG:
            self.other_secrets += 1
            logger.debug("decryption secrets of type 0x%08x ignored", secrets_type)
            return
        text = secrets.decode("utf-8", errors="replace")
        self.add_text(text, "pcapng decryption secrets")

    def secret(self, client_random: bytes, label: str) -> bytes | None:
        """The secret logged under ``label`` for ``client_random``, if any."""
        secrets = self._secrets.get(client_random)
        return None if secrets is None else secrets.get(label)

    def __contains__(self, client_random: object) -> bool:
        return client_random in self._secrets

    def __len__(self) -> int:
        """How many connections (client randoms) have at least one secret."""
        return len(self._secrets)

    def _add_lines(self, lines: Iterable[str], source: str) -> None:
        """Parse each line of ``lines``, counting those that cannot be read."""
        before = len(self._secrets), self.malformed
        for number, line in enumerate(lines, start=1):
            if not self._add_line(line.strip()):
                self.malformed += 1
                if len(self.malformed_examples) < MAX_EXAMPLES:
                    self.malformed_examples.append(f"{source}:{number}")
        logger.debug(
            "%s: %d new client randoms, %d malformed lines",
            source,
            len(self._secrets) - before[0],
            self.malformed - before[1],
        )

    def _add_line(self, line: str) -> bool:
        """Store the secret of one stripped line; False when it is malformed."""
        if not line or line.startswith("#"):
            return True
        fields = line.split()
        if len(fields) != 3:
            return False
        label, random_hex, secret_hex = fields
        if label in _IGNORED_LABELS:
            self.ignored += 1
            return True
        lengths = _SECRET_LENGTHS.get(label)
        client_random = _from_hex(random_hex)
        secret = _from_hex(secret_hex)
        if lengths is None or client_random is None or secret is None:
            return False
        if len(client_random) != 32 or len(secret) not in lengths:
            return False
        self._secrets.setdefault(client_random, {})[label] = secret
        return True


def _from_hex(text: str) -> bytes | None:
    """Decode hex digits; None when ``text`` is not hex."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None
