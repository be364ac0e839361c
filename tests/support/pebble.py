"""Let's Encrypt's test ACME server (Debian `pebble`) on loopback free ports, for the ACME tests.

Pebble validates HTTP-01 on `http_port` (swissbox's HTTP port) and asks `dns_server` (swissbox's
own DNS) for A/AAAA/TXT records. Its HTTPS listener uses a local CA of ours (`ca_file`); the
certificates it issues chain to a root fetched from its management port (`issuing_root()`).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import urllib.request
from pathlib import Path

from swissbox.tls import make_local_ca
from tests.support.polling import eventually
from tests.support.stack import free_port


class Pebble:
    def __init__(self, binary: str, tmp: Path, http_port: int, dns_server: str) -> None:
        self.dir = tmp / "pebble"
        tls = make_local_ca(self.dir / "tls", "localhost")
        assert tls.ca is not None
        self.ca_file = tls.ca
        self.port, self.management_port = free_port(), free_port()
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": str(tls.cert),
                "privateKey": str(tls.key),
                "httpPort": http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        config_file = self.dir / "pebble-config.json"
        config_file.write_text(json.dumps(config))
        env = dict(os.environ)
        # Validate at once, never reject a good nonce, always validate afresh.
        env.update(PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0", PEBBLE_AUTHZREUSE="0")
        self.log_path = self.dir / "pebble.log"
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [binary, "-config", str(config_file), "-dnsserver", dns_server],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.dir,
            )
        eventually(self._answers, timeout=15, what="pebble serves its directory")

    @property
    def directory_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    def _get(self, url: str) -> bytes:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        with urllib.request.urlopen(url, context=ctx, timeout=5) as response:
            return bytes(response.read())

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"pebble exited {self.proc.returncode}:\n{self.log()}")
        try:
            return b"newOrder" in self._get(self.directory_url)
        except OSError:
            return False

    def issuing_root(self) -> str:
        """The PEM root that Pebble's certificates chain to."""
        return self._get(f"https://127.0.0.1:{self.management_port}/roots/0").decode("ascii")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
