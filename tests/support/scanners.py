"""rspamd (with redis-server for its Bayes statistics), clamd and their helpers, started on
loopback with private configs in a temporary folder; no network: rspamd's DNS points at a
local responder that refuses every query, clamd's signatures are made for the test with `sigtool`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_tool
from tests.support.polling import eventually
from tests.support.stack import distinct_port

RSPAMD_PASSWORD = "rspamd-test-pw"
# Subjects with this word score 8 (rspamd's "add header" action at 6): mail for Junk.
JUNK_WORD = "JUNKTHISPLEASE"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
SAMPLE = b"swissbox test malware sample: not a virus, a file the test signature names\n"
SIGNATURE = "Swissbox.Test.Sample"

_OVERRIDES = {
    "worker-normal.inc": 'bind_socket = "127.0.0.1:{normal}";\ncount = 1;\n',
    "worker-controller.inc": (
        'bind_socket = "127.0.0.1:{controller}";\ncount = 1;\n'
        'password = "{password}";\nenable_password = "{password}";\n'
    ),
    "worker-proxy.inc": 'bind_socket = "127.0.0.1:{proxy}";\ncount = 1;\n',
    "logging.inc": 'type = "file";\nfilename = "{folder}/rspamd.log";\nlevel = "info";\n',
}
_LOCAL = {
    # hyperscan off and a short public-suffix list: compiling their matchers for the full
    # list and rules takes ~15 s at every start in a fresh folder
    "options.inc": (
        'dns {{ nameserver = ["127.0.0.1:{dns}"]; timeout = 0.5s; retransmits = 1; }}\n'
        "disable_hyperscan = true;\n"
        'url_tld = "{folder}/tlds.dat";\n'
    ),
    "classifier-bayes.conf": 'backend = "redis";\nservers = "127.0.0.1:{redis}";\nmin_learns = 1;\n',
    "actions.conf": "reject = 15;\nadd_header = 6;\nrewrite_subject = null;\ngreylist = null;\n",
    "greylist.conf": "enabled = false;\n",
    "hfilter.conf": "enabled = false;\n",
    "multimap.conf": (
        'SWISSBOX_TEST_JUNK {{ type = "header"; header = "Subject"; regexp = true;'
        ' map = "{folder}/junk-subjects.map"; score = 8.0; }}\n'
    ),
}


@dataclass
class Rspamd:
    folder: Path
    normal: int
    controller: int
    proc: subprocess.Popen[bytes]
    redis: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.normal}"

    @property
    def controller_url(self) -> str:
        return f"http://127.0.0.1:{self.controller}"

    def stat(self) -> dict:
        request = urllib.request.Request(
            self.controller_url + "/stat", headers={"Password": RSPAMD_PASSWORD}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            return dict(json.load(answer))

    def stop(self) -> None:
        for proc in (self.proc, self.redis):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.proc, self.redis):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _answers(port: int, path: str = "/ping") -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def refusing_dns() -> int:
    """A UDP port on loopback where every DNS query is answered REFUSED at once (a thread):
    rspamd's own lookups (SPF, DMARC, RBLs) fail fast instead of waiting for timeouts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            query, peer = sock.recvfrom(4096)
            if len(query) >= 12:  # QR=1, opcode kept, RCODE=5; counts kept; question echoed
                flags = bytes([query[2] | 0x80, (query[3] & 0xF0) | 5])
                sock.sendto(query[:2] + flags + query[4:], peer)

    threading.Thread(target=serve, name="refusing-dns", daemon=True).start()
    return int(sock.getsockname()[1])


def start_rspamd(folder: Path) -> Rspamd:
    rspamd = require_tool("rspamd")
    redis_server = require_tool("redis-server")
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[int] = set()
    ports = {n: distinct_port(taken) for n in ("normal", "controller", "proxy", "redis")}
    ports["dns"] = refusing_dns()
    values = {**ports, "password": RSPAMD_PASSWORD, "folder": str(folder)}
    for sub, files in (("override.d", _OVERRIDES), ("local.d", _LOCAL)):
        (folder / sub).mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / sub / name).write_text(text.format(**values))
    (folder / "junk-subjects.map").write_text(f"/{JUNK_WORD}/\n")
    (folder / "tlds.dat").write_text("test\nexample\norg\ncom\nnet\n")
    for name in ("db", "run"):
        (folder / name).mkdir(exist_ok=True)
    redis = subprocess.Popen(
        [redis_server, "--port", str(ports["redis"]), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder / "db")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    # the packaged configuration (rspamd's compiled-in $CONFDIR), with ours in LOCAL_CONFDIR
    (folder / "rspamd.conf").write_text('.include "$CONFDIR/rspamd.conf"\n')
    args = [rspamd, "-f", "-i", "-c", str(folder / "rspamd.conf")]
    for var, value in (
        ("LOCAL_CONFDIR", folder),
        ("DBDIR", folder / "db"),
        ("RUNDIR", folder / "run"),
        ("LOGDIR", folder),
    ):
        args += ["--var", f"{var}={value}"]
    out = (folder / "stdout.log").open("wb")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    daemon = Rspamd(folder, ports["normal"], ports["controller"], proc, redis)
    try:
        eventually(
            lambda: (
                proc.poll() is not None
                or (_answers(ports["normal"]) and _answers(ports["controller"]))
            ),
            timeout=60,
            what="rspamd answering /ping",
        )
        if proc.poll() is not None:
            raise AssertionError(f"rspamd exited {proc.returncode}: {_tail(folder)}")
    except BaseException:
        daemon.stop()
        raise
    return daemon


def _tail(folder: Path) -> str:
    log = folder / "rspamd.log"
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


@dataclass
class Clamd:
    socket_path: Path
    tcp_port: int
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_clamd(folder: Path) -> Clamd:
    """clamd with one hash signature (`sigtool --md5`) naming SAMPLE as SIGNATURE."""
    clamd = require_tool("clamd")
    sigtool = require_tool("sigtool")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db").mkdir(exist_ok=True)
    sample = folder / "sample.bin"
    sample.write_bytes(SAMPLE)
    made = subprocess.run(
        [sigtool, "--md5", str(sample)], capture_output=True, text=True, check=True
    )
    digest, size, _ = made.stdout.strip().split(":", 2)
    (folder / "db" / "test.hdb").write_text(f"{digest}:{size}:{SIGNATURE}\n")
    port = distinct_port(set())
    # a short folder: Unix socket paths are limited to 107 bytes
    sock = Path(tempfile.gettempdir()) / f"swissbox-clamd-{os.getpid()}-{port}.sock"
    user = "root" if os.geteuid() == 0 else ""
    (folder / "clamd.conf").write_text(
        "Foreground yes\n"
        f"DatabaseDirectory {folder / 'db'}\n"
        f"LocalSocket {sock}\n"
        f"TCPSocket {port}\nTCPAddr 127.0.0.1\n"
        f"LogFile {folder / 'clamd.log'}\n"
        f"PidFile {folder / 'clamd.pid'}\n" + (f"User {user}\n" if user else "")
    )
    proc = subprocess.Popen(
        [clamd, "-c", str(folder / "clamd.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    daemon = Clamd(sock, port, proc)

    def pong() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), 1) as s:
                s.sendall(b"zPING\0")
                return s.recv(16).startswith(b"PONG")
        except OSError:
            return False

    try:
        eventually(lambda: proc.poll() is not None or pong(), timeout=60, what="clamd PONG")
        if proc.poll() is not None:
            raise AssertionError(f"clamd exited {proc.returncode}")
    except BaseException:
        daemon.stop()
        raise
    return daemon


def wait_gone(port: int, deadline: float = 10.0) -> None:
    """Until nothing listens on `port` any more."""

    def closed() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
        except OSError:
            return True
        return False

    eventually(closed, timeout=deadline, what=f"port {port} closed")
