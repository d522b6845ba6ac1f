"""Run the shards of one audit in worker processes, one per shard.

With ``jobs`` of 1 the only shard runs in this process. Otherwise each shard
gets a forked worker (fork, so workers inherit the rules and classifier
instead of loading them again; the collector is told to leave the objects
they inherit alone, so that it does not copy every shared page) and a pipe
back to the parent, over which it sends:

* progress, ``("progress", file, done, total)``, when the parent shows any:
  the parent shows, per file, the slowest shard's;
* log records at the levels the parent enabled, ``("log", record)``, which
  the parent hands to its own handlers (workers have none);
* at the end, one of ``("done", ShardOutcome)``, ``("error", error class,
  message, hint, traceback)`` for a :class:`~toyaudit.errors.ToyauditError`
  or ``("crash", description, traceback)`` for anything else.

A pipe holds little (64 KiB on Linux), so a worker blocks until the parent
has read its last message: nothing piles up in memory. A toyaudit error is
raised again in the parent with the same class, message and hint. Every
shard meets the errors of the whole-file checks the same way, and the only
errors one shard alone can meet (the first flow of a flow file) belong to
the first shard, so the parent raises the first shard's error when it has
one: the same error a single process raises. A worker that crashes or dies
ends the audit with :class:`WorkerCrashError`; Ctrl-C, or any error, stops
every worker (workers ignore SIGINT themselves, so that only the parent
decides).

The parent hashes the session's large evidence files on a thread
(:class:`~toyaudit.session.PendingDigests`) once the first worker is done
and its core is free, never before: a thread must not be running when a
worker is forked.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import signal
import traceback
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, cast

from toyaudit.audit.shards import AuditPlan, ShardOutcome, audit_shard
from toyaudit.errors import ToyauditError
from toyaudit.ingest import ProgressCallback, Shard
from toyaudit.session import PendingDigests

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0
"""Seconds a stopped worker gets to exit before it is killed."""


class WorkerCrashError(RuntimeError):
    """A worker process failed in a way toyaudit did not foresee: a bug."""


class WorkerTracebackError(Exception):
    """The traceback of an error in a worker, attached as the cause of the
    error the parent raises, so that ``-v`` shows where it happened."""


def run_shards(
    plan: AuditPlan,
    jobs: int,
    progress: ProgressCallback | None,
    pending: PendingDigests | None = None,
) -> list[ShardOutcome]:
    """Audit the session in ``jobs`` shards; return their outcomes in shard order.

    The ``pending`` digests start being checked on a thread of this process
    (:meth:`~toyaudit.session.PendingDigests.start`) once a core is free for
    it: at once in one process, when the first worker is done otherwise
    (and never before the last fork). The caller collects the verdict.
    """
    if jobs <= 1:
        if pending is not None:
            pending.start()
        return [audit_shard(plan, Shard(0, 1), progress)]
    return _Workers(plan, jobs, progress, pending).run()


class _Workers:
    """The worker processes of one audit and the parent's side of their pipes."""

    def __init__(
        self,
        plan: AuditPlan,
        count: int,
        progress: ProgressCallback | None,
        pending: PendingDigests | None,
    ) -> None:
        self.plan = plan
        self.count = count
        self.progress = progress
        self.pending = pending
        self.processes: list[BaseProcess] = []
        self.pipes: dict[Connection, int] = {}
        """The parent's end of each worker's pipe, and its shard index."""
        self.outcomes: dict[int, ShardOutcome] = {}
        self.errors: dict[int, ToyauditError] = {}
        self.done: dict[str, dict[int, int]] = {}
        """Bytes done per file and shard, for progress."""
        self.shown: dict[str, int] = {}
        """Bytes done per file as last shown."""

    def run(self) -> list[ShardOutcome]:
        """Start every worker, gather every outcome; stop them all on any error."""
        try:
            self._start()
            while self.pipes:
                for pipe in wait(list(self.pipes)):
                    self._receive(cast(Connection, pipe))
                    self._raise_settled_error()
            if self.errors:
                raise self.errors[min(self.errors)]
            return [self.outcomes[index] for index in range(self.count)]
        finally:
            self._stop()

    def _start(self) -> None:
        context = multiprocessing.get_context("fork")
        # Objects that exist now are left alone by the collector: in the
        # workers it would otherwise touch, and so copy, every shared page.
        gc.freeze()
        for index in range(self.count):
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(
                target=_work,
                args=(self.plan, Shard(index, self.count), writer, bool(self.progress)),
                name=f"toyaudit-shard-{index}",
                daemon=True,
            )
            process.start()
            # Only the worker may hold the writing end: its exit must end the pipe.
            writer.close()
            self.processes.append(process)
            self.pipes[reader] = index
        gc.unfreeze()
        logger.debug("started %d shard workers", self.count)

    def _receive(self, pipe: Connection) -> None:
        """Handle one message from a worker, or the end of its pipe."""
        index = self.pipes[pipe]
        try:
            message: tuple[Any, ...] = pipe.recv()
        except EOFError:
            del self.pipes[pipe]
            pipe.close()
            self._ended(index)
            return
        kind = message[0]
        if kind == "progress":
            self._progress(index, *message[1:])
        elif kind == "log":
            record: logging.LogRecord = message[1]
            logging.getLogger(record.name).handle(record)
        elif kind == "done":
            self.outcomes[index] = message[1]
            if self.pending is not None:
                self.pending.start()  # that worker's core is free
        elif kind == "error":
            self.errors[index] = _rebuild_error(*message[1:])
        else:
            raise WorkerCrashError(
                f"the worker of shard {index + 1} of {self.count} failed: {message[1]}"
            ) from WorkerTracebackError(message[2])

    def _raise_settled_error(self) -> None:
        """Raise the first shard's error, or another's once the first is done.

        The first shard meets every error a single process would, so while
        it runs, another shard's error waits: the first may yet meet an
        earlier one.
        """
        if 0 in self.errors:
            raise self.errors[0]
        if self.errors and 0 in self.outcomes:
            raise self.errors[min(self.errors)]

    def _ended(self, index: int) -> None:
        """A worker closed its pipe: fine after its last message, a crash before."""
        if index in self.outcomes or index in self.errors:
            return
        process = self.processes[index]
        process.join(STOP_TIMEOUT)
        raise WorkerCrashError(
            f"the worker of shard {index + 1} of {self.count} stopped without "
            f"finishing (exit code {process.exitcode})"
        )

    def _progress(self, index: int, name: str, done: int, total: int) -> None:
        """Show how far the shard furthest behind on ``name`` got, never less."""
        shards = self.done.setdefault(name, {})
        shards[index] = done
        slowest = min(shards.values())
        if self.progress is not None and slowest > self.shown.get(name, -1):
            self.shown[name] = slowest
            self.progress(name, slowest, total)

    def _stop(self) -> None:
        """End every worker still running and close every pipe."""
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(STOP_TIMEOUT)
            if process.is_alive():
                process.kill()
                process.join()
        for pipe in self.pipes:
            pipe.close()
        self.pipes.clear()


def _rebuild_error(
    error_class: type[ToyauditError], message: str, hint: str, trace: str
) -> ToyauditError:
    """The error a worker raised, made again in the parent with its traceback."""
    error = error_class(message, hint)
    error.__cause__ = WorkerTracebackError(trace)
    return error


def _work(
    plan: AuditPlan, shard: Shard, pipe: Connection, wants_progress: bool
) -> None:
    """The body of a worker process: audit one shard, send back the outcome."""
    # The parent stops the workers on Ctrl-C; a worker only ever exits quietly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _forward_logs(pipe)
    try:
        progress = _progress_sender(pipe) if wants_progress else None
        message: tuple[Any, ...] = ("done", audit_shard(plan, shard, progress))
    except ToyauditError as error:
        trace = traceback.format_exc()
        message = ("error", type(error), error.message, error.hint, trace)
    except Exception as error:  # a bug: the parent reports it as one
        message = ("crash", f"{type(error).__name__}: {error}", traceback.format_exc())
    _send_last(pipe, message)


def _send_last(pipe: Connection, message: tuple[Any, ...]) -> None:
    """Send a worker's last message; a message that cannot be sent is a crash."""
    try:
        pipe.send(message)
    except (BrokenPipeError, ConnectionResetError):
        return  # the parent is gone: nobody is left to tell
    except Exception as error:
        pipe.send(("crash", f"its outcome could not be sent: {error}", ""))
    finally:
        pipe.close()


def _progress_sender(pipe: Connection) -> ProgressCallback:
    def send(name: str, done: int, total: int) -> None:
        pipe.send(("progress", name, done, total))

    return send


class _LogForwarder(logging.Handler):
    """Sends a worker's log records to the parent, already formatted."""

    def __init__(self, pipe: Connection) -> None:
        super().__init__()
        self.pipe = pipe

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = record.getMessage()
        record.args = None
        record.exc_info = None
        try:
            self.pipe.send(("log", record))
        except OSError:
            self.handleError(record)


def _forward_logs(pipe: Connection) -> None:
    """Replace the handlers a worker inherited by one that forwards to the parent.

    The inherited handlers write to the terminal through locks that another
    thread of the parent (a progress bar) may have held at the fork; used
    here they could wait forever.
    """
    root = logging.getLogger()
    root.handlers.clear()
    root.addHandler(_LogForwarder(pipe))
