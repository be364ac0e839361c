"""Fifty routers updating at once (the directory's SQLite writer, the HTTP site's worker
threads and the DNS answer cache under one burst), right and wrong passwords mixed: every
answer is right, and afterwards DNS serves exactly the addresses of the good updates."""

from __future__ import annotations

import base64
import http.client
import threading
from concurrent.futures import ThreadPoolExecutor

import dns.message
import dns.query
import dns.rdatatype

from swissbox.auth import HashParams, hash_secret
from swissbox.conf import load
from swissbox.directory import Directory
from tests.support.stack import Stack

CHEAP = HashParams(8, 1, 1)
USERS = {f"router{u}": f"RouterPass{u}x" for u in range(5)}
HOSTS = {f"nas{i}.example.test": f"router{i % 5}" for i in range(40)}


def update(stack: Stack, user: str, password: str, host: str, ip: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", stack.ports["http"], timeout=60)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    conn.request(
        "GET",
        f"/nic/update?hostname={host}&myip={ip}",
        headers={"Authorization": f"Basic {token}", "User-Agent": "swissbox-test/1.0"},
    )
    answer = conn.getresponse().read().decode().strip()
    conn.close()
    return answer


def a_records(stack: Stack, name: str) -> set[str]:
    query = dns.message.make_query(name, dns.rdatatype.A)
    reply = dns.query.udp(query, "127.0.0.1", port=stack.ports["dns"], timeout=5)
    return {rr.to_text() for rrset in reply.answer for rr in rrset}


def test_fifty_updates_at_once(stack: Stack) -> None:
    stack.provision()
    with Directory(load(data=str(stack.data)).db_path) as d:
        for user, password in USERS.items():
            d.add_ddns_user(user, hash_secret(password, CHEAP))
        for host, user in HOSTS.items():
            d.add_ddns_host(host, user)
    stack.start()
    try:
        jobs = []
        for i in range(50):
            host = f"nas{i % 40}.example.test"
            user = HOSTS[host]
            right = i < 40  # one good update per host, ten wrong passwords on hosts 0-9
            password = USERS[user] if right else USERS[user] + "Wrong1"
            ip = f"192.0.2.{i + 1}" if right else f"198.51.100.{i + 1}"
            jobs.append((user, password, host, ip, right))
        start = threading.Barrier(len(jobs))

        def one(job: tuple[str, str, str, str, bool]) -> str:
            start.wait()
            return update(stack, *job[:4])

        with ThreadPoolExecutor(len(jobs)) as clients:
            answers = list(clients.map(one, jobs))
        for (_, _, host, ip, right), answer in zip(jobs, answers, strict=True):
            assert answer == (f"good {ip}" if right else "badauth"), (host, answer)
        for i in range(40):
            assert a_records(stack, f"nas{i}.example.test") == {f"192.0.2.{i + 1}"}
        assert "Traceback" not in stack.log()
    finally:
        assert stack.stop() == 0
