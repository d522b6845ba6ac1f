"""Read decrypted TLS connections as if they had been sent in plaintext.

When a capture comes with its TLS secrets (a key log beside it, or secrets
embedded in a pcapng), every TLS connection gets a :class:`DecryptedStream`:
it hands the connection's records to a :class:`~toyaudit.ingest.tlsdecrypt.TlsDecryptor`
and feeds the application data it recovers into a second reassembler, which
recognises HTTP, WebSocket, MQTT and the rest exactly as for plaintext TCP.
Observations from it are marked as sent inside TLS, and their evidence names
the frames that carried the encrypted records.

A connection that cannot be decrypted (an unsupported suite, a damaged
record, secrets missing for part of it) gets one entry in the capture's
:class:`DecryptionLog` saying why, which becomes a coverage problem. A
connection the key log knows nothing of gets a
:class:`~toyaudit.ingest.keyless.KeylessConnection` entry instead: the
capture never had its keys, which is a limit of the capture
(:mod:`~toyaudit.ingest.keyless`), not a failure to read it.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

from toyaudit.ingest.conversation import TlsConsumerFactory
from toyaudit.ingest.keyless import KeylessConnection
from toyaudit.ingest.keylog import KeyLog
from toyaudit.ingest.records import Endpoint, Observation, Transport
from toyaudit.ingest.tcp import ACK, FIN, SYN, Reassembler
from toyaudit.ingest.tlsdecrypt import TlsDecryptor
from toyaudit.ingest.tlsstream import TlsRecord

logger = logging.getLogger(__name__)

_APPLICATION_DATA = 23


class DecryptionLog:
    """What the decrypting readers of one capture file say, in order."""

    def __init__(self) -> None:
        self.entries: list[str | KeylessConnection] = []
        """Why connections were not decrypted: a problem in words, or a
        connection the key log holds nothing for. The reader takes the new
        entries after each segment, to rank them by frame."""
        self.decrypted = 0
        """Connections for which the key log held a secret."""


class DecryptedStream:
    """The TLS record consumer of one connection: decrypt, then read as TCP."""

    def __init__(
        self,
        name: str,
        client: Endpoint,
        server: Endpoint,
        emit: Callable[[Observation], None],
        keylog: KeyLog,
        log: DecryptionLog,
    ) -> None:
        self.name = name
        self.emit = emit
        self.log = log
        self.client, self.server = client, server
        self.keyed = False
        self.first_frame = 0
        """The first frame of the connection's first record."""
        self.decryptor = TlsDecryptor(keylog)
        self.inner = Reassembler(name, transport=Transport.TLS)
        self.ends = (_packed(client), _packed(server))
        self.next_sequence = [1, 1]
        self.reported = False
        self.open_directions = {True, False}
        self.connection = f"{client} -> {server}"
        # A handshake on the inner connection fixes who is the client.
        self.inner.segment(self.ends[0], self.ends[1], 0, SYN, b"", 0)
        self.inner.segment(self.ends[1], self.ends[0], 0, SYN | ACK, b"", 0)

    def record(self, from_client: bool, record: TlsRecord) -> None:
        """Decrypt one record and feed its application data to the inner reader."""
        if not self.first_frame and record.frames:
            self.first_frame = record.frames[0]
        plaintext = self.decryptor.record(
            from_client, record.content_type, record.version, record.fragment
        )
        if plaintext and record.content_type == _APPLICATION_DATA:
            self._feed(from_client, plaintext, record)
        if not self.keyed and self.decryptor.keyed:
            self.keyed = True
            self.log.decrypted += 1
        self._deliver()

    def gap(self, from_client: bool) -> None:
        """Lost ciphertext ends decryption of that connection; say so once."""
        self._report(f"bytes were lost from the {_side(from_client)} records")

    def close(self, from_client: bool) -> None:
        """End the inner stream and report why decryption stopped, if it did."""
        source, destination = self._direction(from_client)
        sequence = self.next_sequence[0 if from_client else 1]
        self.inner.segment(source, destination, sequence, ACK | FIN, b"", 0)
        self.open_directions.discard(from_client)
        if not self.open_directions:
            self.inner.close_all()
        self._deliver()
        if self.decryptor.problem is not None:
            self._report(self.decryptor.problem)

    def _feed(self, from_client: bool, plaintext: bytes, record: TlsRecord) -> None:
        """Send plaintext on the inner connection, spread over the record's frames.

        Every piece takes the time of the record's first frame.
        """
        index = 0 if from_client else 1
        source, destination = self._direction(from_client)
        frames = record.frames or (0,)
        step = -(-len(plaintext) // len(frames))
        for number, start in zip(frames, range(0, len(plaintext), step), strict=False):
            piece = plaintext[start : start + step]
            self.inner.segment(
                source,
                destination,
                self.next_sequence[index],
                ACK,
                piece,
                number,
                record.time,
            )
            self.next_sequence[index] = (
                self.next_sequence[index] + len(piece)
            ) & 0xFFFFFFFF

    def _direction(
        self, from_client: bool
    ) -> tuple[tuple[bytes, int], tuple[bytes, int]]:
        if from_client:
            return self.ends[0], self.ends[1]
        return self.ends[1], self.ends[0]

    def _deliver(self) -> None:
        for observation in self.inner.ready:
            self.emit(observation)
        self.inner.ready.clear()

    def _report(self, problem: str) -> None:
        if self.reported:
            return
        self.reported = True
        if self.decryptor.keyless:
            server_name = self.decryptor.server_name
            self.log.entries.append(
                KeylessConnection(
                    self.client, self.server, server_name, self.first_frame
                )
            )
            return
        where = f"{self.name}: TLS connection {self.connection}"
        self.log.entries.append(f"{where} not decrypted: {problem}")


def decryption_factory(
    name: str, keylog: KeyLog, log: DecryptionLog
) -> TlsConsumerFactory:
    """A factory giving every TLS connection of a capture its decrypting reader.

    Connections that start while the key log is still empty are left alone: a
    capture without secrets is not a capture whose decryption failed.
    """

    def make(
        client: Endpoint, server: Endpoint, emit: Callable[[Observation], None]
    ) -> DecryptedStream | None:
        if not len(keylog):
            return None
        return DecryptedStream(name, client, server, emit, keylog, log)

    return make


def _packed(endpoint: Endpoint) -> tuple[bytes, int]:
    return ipaddress.ip_address(endpoint.ip).packed, endpoint.port


def _side(from_client: bool) -> str:
    return "client's" if from_client else "server's"
