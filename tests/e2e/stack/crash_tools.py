"""Crash-test tools: a serve process killed with its workers, and a TCP proxy that makes Postgres unreachable."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading

from tollway.testing.processes import ManagedProcess, free_port


class GroupProcess(ManagedProcess):
    """A process in its own session, so a SIGKILL takes granian's worker processes down with it, as a crash would."""

    def start(self) -> GroupProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self._argv, env=self._env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own group only: the session it was started in
            self.proc.wait(10)


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to a target on a thread of its own; ``cut`` resets every connection through it
    and refuses new ones until ``restore`` (what a network partition or a Postgres restart looks like to a client).
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._cut = False
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tcp-proxy", daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("tcp proxy did not start")
        return self

    def cut(self) -> None:
        self._loop.call_soon_threadsafe(self._reset_all)

    def restore(self) -> None:
        self._loop.call_soon_threadsafe(setattr, self, "_cut", False)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._reset_all)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    def _reset_all(self) -> None:
        self._cut = True
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        self._open.discard(writer)
        writer.transport.abort()
