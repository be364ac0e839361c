"""A minimal milter client (the Sendmail milter protocol, version 6) for tests: hands one
message to a milter such as OpenDKIM as an MTA would, and returns the header fields the milter
adds (name, value). Enough for signing milters; no macros, no body replacement."""

from __future__ import annotations

import socket
import struct

_VERSION, _ALL_ACTIONS = 6, 0x1FF


class Milter:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)

    def close(self) -> None:
        self.sock.close()

    def _send(self, command: bytes, data: bytes = b"") -> None:
        self.sock.sendall(struct.pack(">I", len(data) + 1) + command + data)

    def _read(self) -> tuple[bytes, bytes]:
        head = self._exact(4)
        body = self._exact(struct.unpack(">I", head)[0])
        return body[:1], body[1:]

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("milter closed the connection")
            out += chunk
        return out

    def _step(self, command: bytes, data: bytes = b"") -> None:
        self._send(command, data)
        reply, _ = self._read()
        if reply != b"c":
            raise RuntimeError(f"milter answered {reply!r} to {command!r}")

    def added_headers(
        self, message: bytes, mail_from: str, rcpt: str, client: str = "127.0.0.1"
    ) -> list[tuple[str, str]]:
        """The fields the milter adds at the end of this message (CRLF line endings)."""
        self._send(b"O", struct.pack(">III", _VERSION, _ALL_ACTIONS, 0))
        if self._read()[0] != b"O":
            raise RuntimeError("no option negotiation")
        self._step(b"C", b"localhost\0" + b"4" + struct.pack(">H", 25) + client.encode() + b"\0")
        self._step(b"H", b"localhost\0")
        self._step(b"M", f"<{mail_from}>\0".encode())
        self._step(b"R", f"<{rcpt}>\0".encode())
        head, _, body = message.partition(b"\r\n\r\n")
        fields: list[list[bytes]] = []
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") and fields:
                fields[-1].append(line)
            else:
                fields.append([line])
        for lines in fields:
            name, _, value = b"\r\n".join(lines).partition(b":")
            self._step(b"L", name.strip() + b"\0" + value.lstrip(b" ") + b"\0")
        self._step(b"N")
        for i in range(0, len(body), 65535):
            self._step(b"B", body[i : i + 65535])
        self._send(b"E")
        added: list[tuple[str, str]] = []
        while True:
            reply, data = self._read()
            if reply in (b"h", b"i"):
                if reply == b"i":
                    data = data[4:]
                name, value = data.rstrip(b"\0").split(b"\0", 1)
                added.append((name.decode(), value.decode()))
            elif reply in (b"a", b"c"):
                return added
            elif reply not in (b"p",):  # progress
                raise RuntimeError(f"milter answered {reply!r} at end of message")
