"""mitmproxy addon of ``toyaudit capture``: flows, TLS verdicts and a status file.

mitmdump loads this file with ``-s``, from whatever mitmproxy the user has
(11.0.2 on Python 3.11, 12.x on newer Pythons), so it imports only the
standard library and mitmproxy, and no mitmproxy name that differs between
the two. Set ``toyaudit_dir`` to the session folder; the addon then writes:

* ``flows.mitm``: every flow (HTTP with its WebSocket messages, raw TCP, UDP,
  DNS) once, when it ends, flushed after each one (mitmdump 11's ``-w`` is
  not flushed); flows still open when mitmdump stops are written by ``done``.
* ``tls-verdicts.jsonl``: one line per intercepted client TLS connection
  (docs/session-format.md): ``accepted`` as soon as the client sends
  decrypted application data (a completed handshake alone proves nothing:
  pinning clients complete it and leave), ``rejected`` when it refused the
  certificate with an alert, ``silent`` when it completed the handshake and
  sent nothing, ``aborted`` for every other end of the handshake.
* ``.proxy-status.json``: hidden, replaced atomically on every change, for
  the recorder (docs/capture-proxy.md): state, listen addresses, counts.

Each flow and verdict line is appended whole or not at all: a write that
fails (a full disk) is cut back off, so both files end after their last whole
record. The addon then writes nothing more, says why in the status file and
stops mitmproxy, and the recorder ends the capture incomplete.

After a client rejected the certificate for a server name, its later
connections to that name pass through untouched (counted as ``passthrough``)
so the toy keeps working and its traffic stays visible as metadata.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import ipaddress
import json
import logging
import os
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from mitmproxy import ctx, io, version

logger = logging.getLogger(__name__)

FLOWS_FILE = "flows.mitm"
VERDICTS_FILE = "tls-verdicts.jsonl"
STATUS_FILE = ".proxy-status.json"
STATUS_FORMAT = 1
COUNTS = ("flows", "accepted", "rejected", "silent", "aborted", "passthrough")
REJECTION_ALERTS = (
    "unknown ca",
    "bad certificate",
    "certificate unknown",
    "unsupported certificate",
    "certificate revoked",
    "certificate expired",
)
"""TLS alerts, in OpenSSL's words, by which a client refuses a certificate."""
NO_DATA_LOGS = (
    "Client closed connection before completing request headers",
    ": Bad HTTP request line",
)
"""mitmproxy log lines saying a client sent data that raised no flow hook."""
PARENT_CHECK_SECONDS = 1.0
OPTIONS = (
    ("toyaudit_dir", str, "", "Session folder that receives the capture."),
    ("toyaudit_parent_pid", int, 0, "Stop once this process is gone (0: never)."),
    ("toyaudit_wireguard_conf", str, "", "Where to save the WireGuard client config."),
)
flow_writer: Any = io.FlowWriter  # unannotated in mitmproxy 11


def _endpoint(address: Any) -> str:
    """``ip:port`` or ``[ipv6]:port``; ``0.0.0.0:port`` when no IP is known."""
    host, port = (address[0], address[1]) if address else ("0.0.0.0", 0)  # noqa: S104
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = ipaddress.ip_address("0.0.0.0")  # noqa: S104 - a name, not yet resolved
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def _master() -> Any:
    """The running master (its methods are unannotated in mitmproxy 11)."""
    return ctx.master


def _now() -> str:
    moment = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")


def _private_file(path: Path, append: bool = True) -> IO[bytes]:
    """Open ``path`` unbuffered to append (else to overwrite), created private.

    Unbuffered, so that no bytes of a failed write wait in a buffer to be
    written later, after the file was cut back (see :func:`_append_whole`).
    """
    mode = os.O_APPEND if append else os.O_TRUNC
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | mode, 0o600)
    return os.fdopen(descriptor, "ab" if append else "wb", buffering=0)


def _write_all(stream: IO[bytes], content: bytes) -> None:
    """Write every byte: an unbuffered write may take only part of them."""
    pending = memoryview(content)
    while pending:
        written = os.write(stream.fileno(), pending)
        if written == 0:  # no progress and no error: give up as a full disk would
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        pending = pending[written:]


def _append_whole(stream: IO[bytes], content: bytes) -> None:
    """Append ``content`` whole, or cut the file back to where it ended and raise.

    A disk that fills up mid-write would leave part of a flow or of a
    verdict line, which no reader can parse, after everything saved before.
    """
    start = os.fstat(stream.fileno()).st_size
    try:
        _write_all(stream, content)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(stream.fileno(), start)
        raise


def _replace(path: Path, content: bytes) -> None:
    """Write a whole file atomically: a hidden staging file, then a rename.

    A full disk has no room for the staging copy; an existing file is then
    rewritten in place, in the blocks it frees, since its reader (the
    recorder) takes a half-written status for no news.
    """
    staging = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with _private_file(staging, append=False) as stream:
            _write_all(stream, content)
    except OSError as error:
        with contextlib.suppress(OSError):
            staging.unlink()
        if error.errno not in (errno.ENOSPC, errno.EDQUOT) or not path.exists():
            raise
        with _private_file(path, append=False) as stream:
            _write_all(stream, content)
        return
    os.replace(staging, path)


class _Handshake:
    """One intercepted client TLS connection awaiting its verdict.

    A plain class: mitmdump loads scripts without entering them in
    ``sys.modules``, which ``dataclasses`` needs.
    """

    __slots__ = ("client", "established", "peer", "server", "sni")

    def __init__(self, client: Any, server: Any, sni: str | None) -> None:
        self.client = _endpoint(client)
        self.server = _endpoint(server)
        self.sni = sni
        self.peer = client
        self.established = False


class _ClientDataLog(logging.Handler):
    """Sees mitmproxy's log lines about client data that no flow hook reports."""

    def __init__(self, capture: ToyauditCapture) -> None:
        super().__init__(logging.DEBUG)
        self.capture = capture

    def emit(self, record: logging.LogRecord) -> None:
        """Take a partial or malformed HTTP request as the client's data."""
        message = record.getMessage()
        if any(marker in message for marker in NO_DATA_LOGS):
            peer = getattr(record, "client", None)
            self.capture.peer_sent_data(peer, "the client sent an incomplete request")


class ToyauditCapture:
    """Saves flows and TLS verdicts into the session folder ``toyaudit_dir``."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.counts = dict.fromkeys(COUNTS, 0)
        self.listening: list[str] = []
        self.state = "starting"
        self.failure: str | None = None
        self.wireguard_conf: str | None = None
        self._files: dict[str, IO[bytes]] = {}
        self._handshakes: dict[str, _Handshake] = {}
        self._rejected: set[tuple[str, str]] = set()
        self._live: dict[str, Any] = {}
        self._written: set[str] = set()
        self._log_watch = _ClientDataLog(self)
        self._parent_watch: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------

    def load(self, loader: Any) -> None:
        """Declare the options the recorder sets with ``--set``."""
        for name, kind, default, help_text in OPTIONS:
            loader.add_option(name, kind, default, help_text)

    def configure(self, updated: set[str]) -> None:
        """Point the outputs at the session folder when it is set or changed."""
        if "toyaudit_dir" in updated and ctx.options.toyaudit_dir:
            self._close()
            self.folder = Path(ctx.options.toyaudit_dir).expanduser()
            self._write_status()

    def running(self) -> None:
        """Servers are up: record where they listen and start the watchers."""
        if self.folder is None or not os.access(self.folder, os.W_OK | os.X_OK):
            logger.error(
                "toyaudit: session folder %r is not set or not writable",
                ctx.options.toyaudit_dir,
            )
            return
        proxyserver = _master().addons.get("proxyserver")
        if proxyserver is not None:
            self.listening = [_endpoint(a) for a in proxyserver.listen_addrs()]
            self._save_wireguard_conf(proxyserver)
        logging.getLogger("mitmproxy.proxy").addHandler(self._log_watch)
        if ctx.options.toyaudit_parent_pid:
            self._parent_watch = asyncio.get_running_loop().create_task(
                self._watch_parent(ctx.options.toyaudit_parent_pid)
            )
        self.state = "running"
        self._write_status()

    def done(self) -> None:
        """Write what is still open, give pending handshakes a verdict, close."""
        logging.getLogger("mitmproxy.proxy").removeHandler(self._log_watch)
        if self._parent_watch is not None:
            self._parent_watch.cancel()
        for flow in list(self._live.values()):
            self._save(flow)
        for key, handshake in list(self._handshakes.items()):
            if handshake.established:
                detail = "handshake completed; nothing sent when the capture stopped"
                self._decide(key, "silent", detail)
            else:
                self._decide(key, "aborted", "the capture stopped during the handshake")
        self.state = "stopped"
        self._write_status()
        self._close()

    async def _watch_parent(self, parent: int) -> None:
        while os.getppid() == parent:
            await asyncio.sleep(PARENT_CHECK_SECONDS)
        logger.warning("toyaudit: the recorder (pid %d) is gone; stopping", parent)
        _master().shutdown()

    def _save_wireguard_conf(self, proxyserver: Any) -> None:
        path = ctx.options.toyaudit_wireguard_conf
        for server in proxyserver.servers:
            conf = getattr(server, "client_conf", lambda: None)()
            if not (conf and path):
                continue
            try:
                _replace(Path(path).expanduser(), conf.encode() + b"\n")
            except OSError as error:
                logger.error("toyaudit: cannot save %s: %s", path, error)
                continue
            self.wireguard_conf = path

    # -- TLS verdicts -----------------------------------------------------

    def tls_clienthello(self, data: Any) -> None:
        """Pass a rejected host through, or start tracking the handshake."""
        client = data.context.client
        server = data.context.server
        handshake = _Handshake(
            client.peername, server.peername or server.address, data.client_hello.sni
        )
        key = self._host_key(handshake)
        # TODO: only a refusal with an alert lets a host through; a toy whose TLS
        # stack refuses without one ("aborted") stays offline for the whole
        # capture. Passing a host through after repeated aborted handshakes
        # would fix that, at the cost of fewer verdicts for it.
        if key in self._rejected:
            data.ignore_connection = True
            self.counts["passthrough"] += 1
            logger.warning(
                "toyaudit: %s rejected the certificate for %s before; "
                "passing its connection through untouched",
                key[0],
                key[1],
            )
            self._write_status()
            return
        self._handshakes[client.id] = handshake

    def tls_established_client(self, data: Any) -> None:
        """The handshake completed; that alone is not acceptance."""
        handshake = self._handshakes.get(data.conn.id)
        if handshake is not None:
            handshake.established = True

    def tls_failed_client(self, data: Any) -> None:
        """Rejected with a certificate alert, or aborted for another reason."""
        handshake = self._handshakes.get(data.conn.id)
        if handshake is None:
            return
        error = str(data.conn.error or "")
        alert = next((a for a in REJECTION_ALERTS if a in error.lower()), None)
        if alert is not None:
            self._rejected.add(self._host_key(handshake))
            self._decide(data.conn.id, "rejected", _alert_wording(error, alert))
        elif error.startswith("The client disconnected during the handshake"):
            detail = "the client closed the connection during the handshake, no alert"
            self._decide(data.conn.id, "aborted", detail)
        else:
            self._decide(data.conn.id, "aborted", error or "handshake failed")

    def client_disconnected(self, client: Any) -> None:
        """A completed handshake with no data is silent; anything else aborted."""
        # TODO: a client that completes the handshake and only then sends a
        # certificate alert (Firefox on Android does) is recorded "silent", not
        # "rejected": mitmproxy only logs "TLS Error: ..." for it. Watching that
        # line in _ClientDataLog would turn it into a rejection.
        handshake = self._handshakes.get(client.id)
        if handshake is None:
            return
        if handshake.established:
            detail = "handshake completed; the client closed without sending data"
            self._decide(client.id, "silent", detail)
        else:
            self._decide(client.id, "aborted", "the client left during the handshake")

    def client_sent_data(self, client: Any, detail: str) -> None:
        """The client sent decrypted application data: it accepted our certificate."""
        handshake = self._handshakes.get(client.id)
        if handshake is not None and handshake.established:
            self._decide(client.id, "accepted", detail)

    def peer_sent_data(self, peer: Any, detail: str) -> None:
        """As :meth:`client_sent_data`, for a client known only by its address."""
        for key, handshake in list(self._handshakes.items()):
            if handshake.peer == peer and handshake.established:
                self._decide(key, "accepted", detail)

    def next_layer(self, nextlayer: Any) -> None:
        """Data waiting for a protocol decision after the handshake is client data."""
        received = nextlayer.data_client()
        if received:
            self.client_sent_data(nextlayer.context.client, _first_words(received))

    def _decide(self, key: str, verdict: str, detail: str) -> None:
        handshake = self._handshakes.pop(key)
        line = {
            "time": _now(),
            "client": handshake.client,
            "server": handshake.server,
            "sni": handshake.sni,
            "verdict": verdict,
            "detail": detail,
        }
        if self._append(VERDICTS_FILE, (json.dumps(line) + "\n").encode()):
            self.counts[verdict] += 1
        logger.debug("toyaudit: TLS %s %s (%s)", verdict, handshake.sni, detail)
        self._write_status()

    @staticmethod
    def _host_key(handshake: _Handshake) -> tuple[str, str]:
        ip = handshake.client.rpartition(":")[0].strip("[]")
        return ip, handshake.sni or handshake.server

    # -- flows ------------------------------------------------------------

    def requestheaders(self, flow: Any) -> None:
        """An HTTP request began: track the flow; its client sent data."""
        self._track(flow)
        detail = _request_detail(flow.request.method, flow.request.path)
        self.client_sent_data(flow.client_conn, detail)

    def response(self, flow: Any) -> None:
        """Save an HTTP flow, unless it goes on as a WebSocket."""
        if flow.websocket is None:
            self._save(flow)

    def websocket_message(self, flow: Any) -> None:
        """A WebSocket message from the client is client data."""
        if flow.websocket.messages[-1].from_client:
            detail = "the client sent a WebSocket message"
            self.client_sent_data(flow.client_conn, detail)

    def tcp_message(self, flow: Any) -> None:
        """A TCP message from the client is client data."""
        self._stream_message(flow, "TCP")

    def udp_message(self, flow: Any) -> None:
        """A UDP datagram from the client (over DTLS) is client data."""
        self._stream_message(flow, "UDP")

    def dns_request(self, flow: Any) -> None:
        """Track a DNS flow; a query over TLS is client data."""
        self._track(flow)
        self.client_sent_data(flow.client_conn, "the client sent a DNS query")

    def _stream_message(self, flow: Any, transport: str) -> None:
        message = flow.messages[-1]
        if message.from_client:
            detail = f"the client sent {len(message.content)} bytes over {transport}"
            self.client_sent_data(flow.client_conn, detail)

    def _track(self, flow: Any) -> None:
        """Remember an open flow, to save it in ``done`` if it never ends."""
        self._live[flow.id] = flow

    def _save(self, flow: Any) -> None:
        """Write a flow once, whole, so the file is whole up to here."""
        self._live.pop(flow.id, None)
        if flow.id in self._written:
            return
        self._written.add(flow.id)
        serialized = BytesIO()
        flow_writer(serialized).add(flow)
        if self._append(FLOWS_FILE, serialized.getvalue()):
            self.counts["flows"] += 1
            self._write_status()

    # mitmproxy calls hooks by name: flows are tracked when they start and
    # saved when they end (HTTP at response or error, WebSocket at its end).
    tcp_start = udp_start = _track
    error = websocket_end = tcp_end = tcp_error = _save
    udp_end = udp_error = dns_response = dns_error = _save

    # -- files ------------------------------------------------------------

    def _open(self, name: str) -> IO[bytes] | None:
        """The open file ``name``; None once saving failed, so files end there."""
        if self.failure is not None:
            return None
        if name not in self._files and self.folder is not None:
            try:
                self._files[name] = _private_file(self.folder / name)
            except OSError as error:
                self._fail(f"cannot create {name}: {error}")
        return self._files.get(name)

    def _append(self, name: str, content: bytes) -> bool:
        """Append one record to ``name``, flushed; False if it was not saved."""
        stream = self._open(name)
        if stream is None:
            return False
        try:
            _append_whole(stream, content)
        except OSError as error:
            self._fail(f"cannot write {name}: {error}")
            return False
        return True

    def _fail(self, failure: str) -> None:
        """Evidence can no longer be saved: say so and stop the proxy."""
        if self.failure is None:
            self.failure = failure
            logger.error("toyaudit: %s; stopping", failure)
            self._write_status()
            _master().shutdown()

    def _close(self) -> None:
        for stream in self._files.values():
            with contextlib.suppress(OSError), stream:
                os.fsync(stream.fileno())
        self._files.clear()

    def _write_status(self) -> None:
        if self.folder is None:
            return
        status = {
            "format": STATUS_FORMAT,
            "state": self.state,
            "pid": os.getpid(),
            "mitmproxy": version.VERSION,
            "listening": self.listening,
            "counts": self.counts,
            "wireguard_conf": self.wireguard_conf,
            "failure": self.failure,
        }
        try:
            _replace(self.folder / STATUS_FILE, json.dumps(status).encode())
        except OSError as error:
            logger.debug("toyaudit: cannot write the status file: %s", error)


def _request_detail(method: str, target: str) -> str:
    """``first request: POST /v1/events``, without the query (personal values)."""
    return f"first request: {method} {target.split('?', 1)[0][:100]}"


def _first_words(received: bytes) -> str:
    """The request line of data that starts like HTTP, else its size."""
    words = received.split(b"\r\n", 1)[0].split(b" ")
    if len(words) == 3 and words[0].isalpha() and words[2].startswith(b"HTTP/"):
        return _request_detail(words[0].decode(), words[1].decode("ascii", "replace"))
    return f"the client sent {len(received)} bytes of application data"


def _alert_wording(error: str, alert: str) -> str:
    """The alert as OpenSSL worded it (``tlsv1 alert unknown ca``), else the error."""
    lowered = error.lower()
    start = lowered.rfind("(", 0, lowered.find(alert))
    end = lowered.find(")", lowered.find(alert))
    if start != -1 and end != -1:
        return error[start + 1 : end]
    return error


addons = [ToyauditCapture()]
