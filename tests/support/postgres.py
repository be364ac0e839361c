"""A throwaway PostgreSQL server for tests: `initdb` in a temporary folder, `pg_ctl start` on a
free loopback port, trust authentication, stopped and removed at the end.

PostgreSQL refuses to run as root; as root the server runs as the `postgres` user that
Debian's package creates (`make test-tools` installs `postgresql`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.stack import free_port


def pg_bin() -> Path | None:
    """The folder of initdb/pg_ctl (Debian keeps them out of PATH), newest version first."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


class PostgresServer:
    def __init__(self, folder: Path, bindir: Path) -> None:
        self.folder = folder
        self.bindir = bindir
        self.port = free_port()
        self.data = folder / "pgdata"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            _as_server_user(
                [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "swissbox",
                 "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]
            ),
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
            " -c max_connections=200"
        )
        subprocess.run(
            _as_server_user(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                 "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start"]
            ),
            check=True, capture_output=True, text=True,
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            _as_server_user(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
            ),
            capture_output=True,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://swissbox@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database on this server; returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def running_postgres(folder: Path) -> Iterator[PostgresServer]:
    bindir = pg_bin()
    if bindir is None:
        raise FileNotFoundError("initdb")
    server = PostgresServer(folder, bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
