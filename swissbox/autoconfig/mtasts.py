"""`https://mta-sts.DOMAIN/.well-known/mta-sts.txt` (RFC 8461 3.3): our MTA-STS policy, for
each domain with an Email Service, chosen by the Host header. Over HTTPS only: a policy
fetched over plain HTTP means nothing to a sender."""

from __future__ import annotations

from twisted.web.resource import Resource
from twisted.web.server import Request

from swissbox.directory import Directory


class MtaStsPolicy(Resource):
    isLeaf = True

    def __init__(self, directory: Directory, policy: str) -> None:
        super().__init__()
        self.directory, self.policy = directory, policy.encode("ascii")

    def render_GET(self, request: Request) -> bytes:  # noqa: N802 (Twisted API)
        host = (request.getRequestHostname() or b"").decode("ascii", "replace").lower()
        domain = host.rstrip(".").removeprefix("mta-sts.")
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        if not request.isSecure():
            request.setResponseCode(404)
            return b"the MTA-STS policy is served over HTTPS only\n"
        if not host.startswith("mta-sts.") or not self.directory.is_mail_domain(domain):
            request.setResponseCode(404)
            return b"no MTA-STS policy for this host\n"
        request.setHeader(b"cache-control", b"max-age=300")
        return self.policy
