"""Where webhooks may go. Unless WEBHOOKS_ALLOW_PRIVATE_URLS is on: https only, and every
address the host resolves to must be public. Checked when a URL is configured and again, on
the resolved address actually connected to, when sending (so DNS rebinding cannot slip in).

"Public" is stricter than `ipaddress.is_global`: Python 3.11's tables call multicast, parts of
192.0.0.0/24 and several IPv6 prefixes global. The transition ones (NAT64, IPv4-compatible,
6to4, Teredo) can carry a path to an internal IPv4 address, and a real receiver never needs
one, so they are refused outright whatever they embed. A refusal never says what a name
resolved to: the message reaches the API client, the address only the log."""

import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    pass


# What `is_global` lets through in Python 3.11 (private, loopback, link-local, CGNAT, 0/8,
# benchmarking, broadcast and the older documentation ranges it already refuses).
_REFUSED = {
    network: ipaddress.ip_network(network)
    for network in (
        "192.0.0.0/24",  # IETF protocol assignments: is_global passes most of it
        "192.88.99.0/24",  # 6to4 relay anycast, deprecated (RFC 7526)
        "64:ff9b::/96",  # NAT64 well-known prefix: reaches the embedded IPv4 address
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215): translates into the operator's network
        "::/96",  # IPv4-compatible, deprecated
        "2001::/32",  # Teredo
        "2002::/16",  # 6to4
        "fec0::/10",  # site-local, deprecated but still routed inside some networks
        "3fff::/20",  # documentation (RFC 9637), newer than 3.11's tables
    )
}
_NAT64 = _REFUSED["64:ff9b::/96"]
_IPV4_COMPATIBLE = _REFUSED["::/96"]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries by the transition scheme of its prefix, if any."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # (server, client): the client is where the packets end up
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _refusal(ip: Address) -> str | None:
    """Why a webhook may not go to this address (for the log), or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            # How a dual-stack socket names an IPv4 peer: the IPv4 address is what is reached.
            return _refusal(ip.ipv4_mapped)
        embedded = _embedded_ipv4(ip)
        if embedded is not None and (reason := _refusal(embedded)):
            return f"embeds {embedded}, {reason}"
    for name, network in _REFUSED.items():
        if ip.version == network.version and ip in network:
            return f"in {name}"
    # Each flag but the last is implied by `not is_global` today; spelt out so that a change in
    # Python's tables cannot quietly open one up.
    for flag in ("multicast", "unspecified", "reserved", "loopback", "link_local", "private"):
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    return None if ip.is_global else "not global"


def parse(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise UnsafeUrl("The URL is not valid.") from exc
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


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve(url: str) -> tuple[str, str, int, list[str]]:
    """(scheme, host, port, addresses) of a URL that may be sent to; raises UnsafeUrl if not."""
    scheme, host, port = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:  # UnicodeError: a label IDNA refuses
        raise UnsafeUrl(f"The host {host!r} does not resolve.") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        for address in addresses:
            reason = _refusal(ipaddress.ip_address(address.split("%")[0]))
            if reason is None:
                continue
            logger.info("Refused webhook host %r: it resolves to %s (%s).", host, address, reason)
            if _is_literal(host):  # it names its own address: "does not resolve" would mislead
                raise UnsafeUrl("The URL's address is not public.")
            raise UnsafeUrl(f"The host {host!r} does not resolve to a public address.")
    return scheme, host, port, addresses


def check_url(url: str) -> None:
    """At configuration time. With private URLs allowed (dev, tests) a host that does not
    resolve yet is accepted, like the seed's `status.ecommerce.test`; sending checks again."""
    if settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        parse(url)
    else:
        resolve(url)
