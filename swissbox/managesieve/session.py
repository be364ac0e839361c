"""One ManageSieve connection (RFC 5804): STARTTLS, AUTHENTICATE PLAIN in the mailbox realm,
then the script commands over the directory. Client input never raises: it gets NO or BYE."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from swissbox import sieve
from swissbox.auth.sasl import SaslError, decode_plain_b64
from swissbox.directory import DirectoryError, NotFound
from swissbox.managesieve.protocol import Command, CommandParser, ProtocolError, quoted, response

log = logging.getLogger("swissbox.managesieve")

IMPLEMENTATION = "swissbox"
MAX_SCRIPT_BYTES = 1 << 20
MAX_SCRIPTS = 32
READ_CHUNK = 65536
Authenticate = Callable[[str, str, str, str | None], Awaitable[Any]]


class Session:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        directory: Any,
        authenticate: Authenticate,
        tls: ssl.SSLContext | None,
        idle_timeout: float,
        allow_plaintext: bool,
        login_timeout: float | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.directory = directory
        self.authenticate = authenticate
        self.tls = tls
        self.idle_timeout = idle_timeout
        self.login_timeout = idle_timeout if login_timeout is None else login_timeout
        self.allow_plaintext = allow_plaintext
        self.parser = CommandParser(max_literal=MAX_SCRIPT_BYTES)
        self.user: str | None = None
        self.secure = False
        peer = writer.get_extra_info("peername")
        self.client = str(peer[0]) if peer else None

    def capabilities(self) -> bytes:
        lines = [
            b'"IMPLEMENTATION" ' + quoted(IMPLEMENTATION),
            b'"SIEVE" ' + quoted(" ".join(sorted(sieve.EXTENSIONS))),
            b'"VERSION" "1.0"',
            b'"MAXREDIRECTS" "4"',
        ]
        if self.secure or self.allow_plaintext:
            lines.append(b'"SASL" "PLAIN"' if self.user is None else b'"SASL" ""')
        else:
            lines.append(b'"SASL" ""')
        if self.tls is not None and not self.secure:
            lines.append(b'"STARTTLS"')
        return b"\r\n".join(lines) + b"\r\n" + response("OK", "swissbox ManageSieve ready")

    async def run(self) -> None:
        try:
            self.writer.write(self.capabilities())
            await self.writer.drain()
            while True:
                timeout = self.idle_timeout if self.user else self.login_timeout
                data = await asyncio.wait_for(self.reader.read(READ_CHUNK), timeout)
                if not data:
                    return
                for item in self.parser.feed(data):
                    if isinstance(item, ProtocolError):
                        self.writer.write(response("NO", item.message))
                        continue
                    if not await self.dispatch(item):
                        await self.writer.drain()
                        return
                await self.writer.drain()
        except TimeoutError:
            self.writer.write(response("BYE", "idle for too long"))
        except (ConnectionError, ssl.SSLError):
            return
        finally:
            self.writer.close()

    async def dispatch(self, command: Command) -> bool:
        """Answers one command; False ends the connection."""
        name, args = command.name, command.args
        if name == "LOGOUT":
            self.writer.write(response("OK", "bye"))
            return False
        if name == "CAPABILITY":
            self.writer.write(self.capabilities())
            return True
        if name == "NOOP":
            tag = f"TAG {quoted(str(args[0])).decode()}" if args else ""
            self.writer.write(response("OK", "done", tag))
            return True
        if name == "STARTTLS":
            return await self.starttls()
        if name == "AUTHENTICATE":
            await self.auth(args)
            return True
        if self.user is None:
            self.writer.write(response("NO", "authenticate first"))
            return True
        try:
            # off the event loop: the directory may wait on a lock or on PostgreSQL
            answer = await asyncio.get_running_loop().run_in_executor(
                None, self.script_command, name, args
            )
            self.writer.write(answer)
        except NotFound as exc:
            self.writer.write(response("NO", str(exc), "NONEXISTENT"))
        except DirectoryError as exc:
            self.writer.write(response("NO", str(exc)))
        except _BadArgs:
            self.writer.write(response("NO", f"bad arguments for {name}"))
        return True

    async def starttls(self) -> bool:
        if self.tls is None or self.secure:
            self.writer.write(response("NO", "STARTTLS not available"))
            return True
        self.writer.write(response("OK", "begin TLS"))
        await self.writer.drain()
        await self.writer.start_tls(self.tls)
        self.secure = True
        self.parser = CommandParser(max_literal=MAX_SCRIPT_BYTES)  # nothing read before TLS counts
        self.writer.write(self.capabilities())
        return True

    async def auth(self, args: list[str | int]) -> None:
        if self.user is not None:
            self.writer.write(response("NO", "already authenticated"))
            return
        if not (self.secure or self.allow_plaintext):
            self.writer.write(response("NO", "use STARTTLS first", "ENCRYPT-NEEDED"))
            return
        if not args or str(args[0]).upper() != "PLAIN":
            self.writer.write(response("NO", "only PLAIN is supported"))
            return
        if len(args) > 1:
            initial = str(args[1])
        else:
            self.writer.write(b'""\r\n')
            await self.writer.drain()
            line = await asyncio.wait_for(self.reader.readline(), self.idle_timeout)
            initial = line.decode("ascii", "replace").strip().strip('"')
            if initial == "*":
                self.writer.write(response("NO", "authentication cancelled"))
                return
        try:
            creds = decode_plain_b64(initial)
        except SaslError:
            self.writer.write(response("NO", "malformed PLAIN response"))
            return
        result = await self.authenticate("mailbox", creds.authcid, creds.secret, self.client)
        if getattr(result, "busy", False):
            self.writer.write(response("NO", "too many logins at once, try again", "TRYLATER"))
        elif not result:
            self.writer.write(response("NO", "authentication failed"))
        else:
            self.user = str(result.identifier)
            self.writer.write(response("OK", "authenticated"))

    def script_command(self, name: str, args: list[str | int]) -> bytes:
        """The answer to one script command (runs in a worker thread: no I/O here)."""
        d, user = self.directory, str(self.user)
        out: list[bytes] = []
        w = out.append
        if name == "LISTSCRIPTS":
            _expect(args, 0)
            for script in d.sieve_scripts(user):
                w(quoted(script.name) + (b" ACTIVE" if script.active else b"") + b"\r\n")
            w(response("OK", "listed"))
        elif name == "PUTSCRIPT":
            script_name, text = _expect(args, 2)
            names = {s.name for s in d.sieve_scripts(user)}
            if str(script_name) not in names and len(names) >= MAX_SCRIPTS:
                w(response("NO", f"at most {MAX_SCRIPTS} scripts", "QUOTA/MAXSCRIPTS"))
                return b"".join(out)
            d.put_sieve_script(user, str(script_name), str(text))
            w(response("OK", "stored"))
        elif name == "CHECKSCRIPT":
            (text,) = _expect(args, 1)
            try:
                sieve.compile_script(str(text))
            except sieve.SieveParseError as exc:
                w(response("NO", str(exc)))
                return b"".join(out)
            w(response("OK", "valid"))
        elif name == "GETSCRIPT":
            (script_name,) = _expect(args, 1)
            text = d.sieve_script(user, str(script_name))
            raw = text.encode("utf-8")
            w(b"{%d}\r\n" % len(raw) + raw + b"\r\n" + response("OK", "done"))
        elif name == "SETACTIVE":
            (script_name,) = _expect(args, 1)
            d.activate_sieve_script(user, str(script_name) or None)
            w(response("OK", "active" if script_name else "none active"))
        elif name == "DELETESCRIPT":
            (script_name,) = _expect(args, 1)
            if any(s.name == script_name and s.active for s in d.sieve_scripts(user)):
                w(response("NO", "the active script cannot be deleted", "ACTIVE"))
                return b"".join(out)
            d.delete_sieve_script(user, str(script_name))
            w(response("OK", "deleted"))
        elif name == "RENAMESCRIPT":
            old, new = _expect(args, 2)
            if any(s.name == new for s in d.sieve_scripts(user)):
                w(response("NO", f"{new} exists", "ALREADYEXISTS"))
                return b"".join(out)
            d.rename_sieve_script(user, str(old), str(new))
            w(response("OK", "renamed"))
        elif name == "HAVESPACE":
            _, size = _expect(args, 2)
            if not isinstance(size, int) or size > MAX_SCRIPT_BYTES:
                w(
                    response(
                        "NO", f"scripts are limited to {MAX_SCRIPT_BYTES} octets", "QUOTA/MAXSIZE"
                    )
                )
                return b"".join(out)
            w(response("OK", "there is room"))
        else:
            w(response("NO", f"unknown command {name}"))
        return b"".join(out)


class _BadArgs(Exception):
    pass


def _expect(args: list[str | int], count: int) -> list[str | int]:
    if len(args) != count:
        raise _BadArgs
    return args
