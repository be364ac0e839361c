"""A throwaway Dovecot IMAP server on loopback for tests and benches: a private config in a
temporary folder (the system /etc/dovecot is not read), passwd-file logins with plain
passwords, one Maildir per user, IMAP without TLS on a free 127.0.0.1 port.

Dovecot refuses to give mail to uid 0: run as root, the mail belongs to `nobody`; run as
another user, every Dovecot process runs as that user. The folder lives outside pytest's
temporary folder (private to root) and is removed by `stop()`.

Special-use folders are configured under names that differ from swissbox's own ("Sent
Messages", "Deleted Messages") and the hierarchy separator is Maildir's ".", so that an
importer must read the source's LIST answer rather than guess.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.support.polling import eventually
from tests.support.stack import free_port

SPECIAL_USE = {
    "Sent Messages": "\\Sent",
    "Drafts": "\\Drafts",
    "Deleted Messages": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = never
first_valid_uid = {uid}
default_internal_user = {internal}
default_login_user = {login}
namespace inbox {{
  inbox = yes
{mailboxes}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {folder}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/home/%u
}}
service imap-login {{
  chroot = {chroot}
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    """`Dovecot(users={"alice": "pw"}).start()`; `maildir(user)` is where its mail lives."""

    def __init__(
        self,
        users: dict[str, str],
        binary: str = "dovecot",
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        """`tls`: (certificate, key) PEM files: STARTTLS on `port` and implicit TLS on
        `tls_port`; without it, plain IMAP only."""
        self.users = users
        self.binary = binary
        self.folder = Path(tempfile.mkdtemp(prefix="swissbox-dovecot-"))
        os.chmod(self.folder, 0o755)  # the mail user walks through it to the homes
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        ssl = f"ssl = yes\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}" if tls else "ssl = no"
        self.process: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            owner = pwd.getpwnam("nobody")
            self.uid, self.gid = owner.pw_uid, owner.pw_gid
            internal, login, chroot = "dovecot", "dovenull", "login"
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(self.uid).pw_name
            internal, login, chroot = me, me, ""
        (self.folder / "users").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in users.items()))
        mailboxes = "\n".join(
            f'  mailbox "{name}" {{\n    auto = subscribe\n    special_use = {flag}\n  }}'
            for name, flag in SPECIAL_USE.items()
        )
        self.config = self.folder / "dovecot.conf"
        self.config.write_text(
            CONFIG.format(
                folder=self.folder,
                uid=self.uid,
                gid=self.gid,
                internal=internal,
                login=login,
                chroot=chroot,
                port=self.port,
                tls_port=self.tls_port,
                ssl=ssl,
                mailboxes=mailboxes,
            )
        )
        for user in users:
            self.maildir(user).mkdir(parents=True)
        self._own(self.folder / "home")

    def maildir(self, user: str) -> Path:
        return self.folder / "home" / user / "Maildir"

    def _own(self, path: Path) -> None:
        """Hands `path` and everything below it to the mail user."""
        if os.geteuid() != 0:
            return
        for root, dirs, files in os.walk(path):
            os.chown(root, self.uid, self.gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), self.uid, self.gid)

    def give_mail(self) -> None:
        """After writing Maildir files directly: make them the mail user's."""
        self._own(self.folder / "home")

    def start(self, timeout: float = 20.0) -> Dovecot:
        if self.process is not None:
            return self
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

        def listening() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"dovecot exited: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                return False
            return True

        eventually(listening, timeout, "dovecot listening")
        return self

    def stop(self) -> None:
        """Stops the server (its mail stays until `remove()`)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        try:
            return (self.folder / "dovecot.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.remove()
