"""The ACME order runs off the event loop: while a CA does not answer, every service keeps
answering, and SIGTERM still stops the server at once."""

from __future__ import annotations

import json
import smtplib
import socket
import threading
import urllib.request
from pathlib import Path

from tests.support.polling import eventually
from tests.support.stack import Stack


def test_a_silent_ca_blocks_neither_the_services_nor_shutdown(tmp_path: Path) -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never says a word
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(silent.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    port = silent.getsockname()[1]
    stack = Stack(
        tmp_path, acme={"enabled": True, "directory_url": f"https://127.0.0.1:{port}/dir"}
    )
    try:
        stack.provision()
        stack.start()
        eventually(lambda: held, timeout=10, what="the order reaching the CA")
        with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=5) as smtp:
            assert smtp.ehlo()[0] == 250
        url = f"http://127.0.0.1:{stack.ports['http']}/healthz/ready"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert json.load(response)["ready"] is True
        assert stack.stop(timeout=10) == 0
    finally:
        stack.kill()
        silent.close()
        for conn in held:
            conn.close()
