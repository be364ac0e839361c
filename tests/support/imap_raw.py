"""A line-level IMAP client for tests that pin exact bytes (what imaplib hides or refuses):
commands go out as written, responses come back as raw lines, literals included."""

from __future__ import annotations

import re
import socket

_LITERAL = re.compile(rb"\{(\d+)\}$")


class RawImap:
    """One plaintext connection (the server must allow plaintext LOGIN on loopback)."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.greeting = self.line()
        self._n = 0

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(self.buf)
        self.buf += chunk

    def line(self) -> bytes:
        """One response line without CRLF; a literal it announces is appended to it whole."""
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        m = _LITERAL.search(line)
        while m is not None:
            size = int(m.group(1))
            while len(self.buf) < size:
                self._fill()
            line += b"\r\n" + self.buf[:size]
            self.buf = self.buf[size:]
            rest = self.line()
            line += rest
            m = None  # `rest` already carried any later literal
        return line

    def until(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def tag(self) -> bytes:
        self._n += 1
        return b"t%d" % self._n

    def cmd(self, text: bytes | str) -> list[bytes]:
        """Sends `TAG text` and returns every line up to and including the tagged one."""
        raw = text.encode() if isinstance(text, str) else text
        tag = self.tag()
        self.send(tag + b" " + raw + b"\r\n")
        return self.until(tag)

    def ok(self, text: bytes | str) -> list[bytes]:
        """Like `cmd`, asserting a tagged OK; returns the untagged lines."""
        lines = self.cmd(text)
        assert lines[-1].split(b" ")[1] == b"OK", lines
        return lines[:-1]

    def login(self, user: str, password: str) -> None:
        self.ok(f'LOGIN "{user}" "{password}"')

    def append(self, folder: str, message: bytes, flags: str = "") -> list[bytes]:
        tag = self.tag()
        head = f'APPEND "{folder}" {flags + " " if flags else ""}'.encode()
        self.send(tag + b" " + head + b"{%d+}\r\n" % len(message) + message + b"\r\n")
        lines = self.until(tag)
        assert lines[-1].split(b" ")[1] == b"OK", lines
        return lines
