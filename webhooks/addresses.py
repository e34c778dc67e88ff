"""Where webhooks may go. Unless WEBHOOKS_ALLOW_PRIVATE_URLS is on: https only, and every
address the host resolves to must be public. Checked when a URL is configured and again, on
the resolved address actually connected to, when sending (so DNS rebinding cannot slip in)."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeUrl(ValueError):
    pass


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _is_public(ip.ipv4_mapped)
    # is_global excludes private, loopback, link-local, CGNAT (100.64/10), ULA (fc00::/7), etc.
    return ip.is_global and not ip.is_multicast


def parse(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if settings.WEBHOOKS_ALLOW_PRIVATE_URLS else ("https",)
    if scheme not in allowed:
        raise UnsafeUrl(f"The URL must use {' or '.join(allowed)}.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeUrl("The URL must not carry credentials.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("The URL has an invalid port.") from exc
    return scheme, parts.hostname, port


def resolve(url: str) -> tuple[str, str, int, list[str]]:
    """(scheme, host, port, addresses) of a URL that may be sent to; raises UnsafeUrl if not."""
    scheme, host, port = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeUrl(f"The host {host!r} does not resolve.") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address.split("%")[0])):
                raise UnsafeUrl(f"The host {host!r} resolves to a non-public address ({address}).")
    return scheme, host, port, addresses


def check_url(url: str) -> None:
    """At configuration time. With private URLs allowed (dev, tests) a host that does not
    resolve yet is accepted, like the seed's `status.ecommerce.test`; sending checks again."""
    if settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        parse(url)
    else:
        resolve(url)
