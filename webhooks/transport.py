"""The HTTP POST of a delivery: pooled keep-alive connections per worker process, connect
timeout 3 s, 10 s in all, no redirects, and the connection goes to the address that was just
checked (the Host header and TLS SNI/certificate still name the host)."""

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings

from webhooks import addresses

RESPONSE_BODY_LIMIT = 1024
CONNECT_TIMEOUT = 3.0
TOTAL_TIMEOUT = 10.0
USER_AGENT = "GetItDone-Webhooks/1"

_pool: urllib3.PoolManager | None = None


def _pool_manager() -> urllib3.PoolManager:
    global _pool
    if _pool is None:
        # maxsize: keep-alive connections kept per receiver, as many as may be in flight to it.
        _pool = urllib3.PoolManager(
            num_pools=500,
            maxsize=settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT,
            block=False,
            retries=False,
            ca_certs=certifi.where(),
        )
    return _pool


@dataclass(frozen=True)
class PostResult:
    http_status: int | None
    duration_ms: int
    error: str
    response_body: str
    retry_after: int | None

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


def _retry_after(value: str | None) -> int | None:
    if value and value.strip().isdigit():
        return int(value.strip())
    return None


def post(url: str, body: bytes, headers: dict[str, str]) -> PostResult:
    started = time.monotonic()

    def done(status: int | None = None, error: str = "", text: str = "", retry_after: int | None = None) -> PostResult:
        return PostResult(status, int((time.monotonic() - started) * 1000), error[:300], text, retry_after)

    try:
        scheme, host, port, resolved = addresses.resolve(url)
    except addresses.UnsafeUrl as exc:
        return done(error=f"UnsafeUrl: {exc}")
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if scheme == "https" else 80
    tls = {"server_hostname": host, "assert_hostname": host} if scheme == "https" else {}
    pool = _pool_manager().connection_from_host(resolved[0], port=port, scheme=scheme, pool_kwargs=tls)
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={
                **headers,
                "Host": host if port == default_port else f"{host}:{port}",
                "User-Agent": USER_AGENT,
                "Content-Type": "application/json",
            },
            redirect=False,
            retries=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(total=TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT),
            preload_content=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        return done(error=f"{type(exc).__name__}: {exc}")
    try:
        head = response.read(RESPONSE_BODY_LIMIT)
        remaining = response.length_remaining
        if remaining is not None and remaining <= 64 * 1024:
            response.drain_conn()  # read the small rest, so the connection can be reused
        else:
            response.close()  # a long or chunked body: not worth reading, drop the connection
    except urllib3.exceptions.HTTPError as exc:
        response.close()
        return done(response.status, error=f"{type(exc).__name__}: {exc}")
    return done(
        response.status,
        text=head.decode("utf-8", "replace"),
        retry_after=_retry_after(response.headers.get("Retry-After")),
    )
