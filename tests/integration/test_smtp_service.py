"""SmtpService contract: listener lines, every listen address, BindError with the config key."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from swissbox.runtime import BindError
from swissbox.smtp.service import SmtpService
from tests.unit.smtp.harness import make_context


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def make_service(tmp_path: Path, loop: asyncio.AbstractEventLoop, **smtp: object) -> SmtpService:
    ctx = make_context(tmp_path, loop, **smtp)
    if ipv6_loopback():
        ctx.settings.server.listen = ["127.0.0.1", "::1"]
    return SmtpService(ctx)


def test_listener_lines_and_all_addresses(tmp_path: Path) -> None:
    async def main() -> None:
        service = make_service(tmp_path, asyncio.get_running_loop())
        lines = await service.start()
        try:
            assert any(line.startswith("smtp-mx 127.0.0.1:") for line in lines)
            assert any(
                line.startswith("submission 127.0.0.1:") and line.endswith("(STARTTLS)")
                for line in lines
            )
            assert any(
                line.startswith("submissions 127.0.0.1:") and line.endswith("(TLS)")
                for line in lines
            )
            if ipv6_loopback():
                assert any(line.startswith("smtp-mx [::1]:") for line in lines)
                assert len(lines) == 6
        finally:
            await service.stop()

    asyncio.run(main())


@pytest.mark.parametrize("key", ["mx_port", "submission_port", "submissions_port"])
def test_bind_error_names_the_config_key(tmp_path: Path, key: str) -> None:
    async def main() -> None:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            service = make_service(tmp_path, asyncio.get_running_loop(), **{key: port})
            with pytest.raises(BindError) as err:
                await service.start()
            assert err.value.key == f"smtp.{key}" and err.value.port == port
            assert f"smtp.{key}" in str(err.value)
            await service.stop()

    asyncio.run(main())
