"""Which webhook URLs are refused as SSRF risks, and that a refusal never names the address."""

import logging
import socket
from urllib.parse import urlsplit

import pytest

from webhooks import addresses


@pytest.fixture(autouse=True)
def production_rules(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False


REFUSED = [
    # IPv6 transition prefixes: refused whatever IPv4 address they embed.
    pytest.param("https://[64:ff9b::7f00:1]/hook", id="nat64-of-loopback"),
    pytest.param("https://[64:ff9b::808:808]/", id="nat64-of-public"),
    pytest.param("https://[64:ff9b:1::a00:1]/", id="local-use-nat64"),
    pytest.param("https://[::7f00:1]/", id="ipv4-compatible-loopback"),
    pytest.param("https://[::808:808]/", id="ipv4-compatible-public"),
    pytest.param("https://[2002:7f00:1::]/", id="6to4-of-loopback"),
    pytest.param("https://[2002:808:808::]/", id="6to4-of-public"),
    pytest.param("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", id="teredo-client-192.0.2.45"),
    pytest.param("https://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/", id="teredo-client-8.8.8.8"),
    pytest.param("https://[fec0::1]/", id="site-local"),
    pytest.param("https://[::ffff:10.0.0.1]/", id="ipv4-mapped-private"),
    pytest.param("https://[::ffff:127.0.0.1]/", id="ipv4-mapped-loopback"),
    # Other IPv6.
    pytest.param("https://[::1]/", id="v6-loopback"),
    pytest.param("https://[::]/", id="v6-unspecified"),
    pytest.param("https://[fe80::1]/", id="v6-link-local"),
    pytest.param("https://[fd00::1]/", id="ula"),
    pytest.param("https://[ff02::1]/", id="v6-multicast"),
    pytest.param("https://[2001:db8::1]/", id="v6-documentation"),
    pytest.param("https://[3fff::1]/", id="v6-documentation-rfc9637"),
    # IPv4.
    pytest.param("https://127.0.0.1/hook", id="loopback"),
    pytest.param("https://10.1.2.3/", id="private-10"),
    pytest.param("https://172.16.0.1/", id="private-172.16"),
    pytest.param("https://192.168.0.10/", id="private-192.168"),
    pytest.param("https://169.254.169.254/latest/meta-data", id="link-local-metadata"),
    pytest.param("https://100.64.0.1/", id="cgnat"),
    pytest.param("https://0.0.0.0/", id="this-network-0.0.0.0"),
    pytest.param("https://0.1.2.3/", id="this-network"),
    pytest.param("https://192.0.0.9/", id="ietf-protocol-assignments"),
    pytest.param("https://198.18.0.1/", id="benchmarking"),
    pytest.param("https://224.0.0.1/", id="multicast"),
    pytest.param("https://239.255.255.250/", id="multicast-ssdp"),
    pytest.param("https://255.255.255.255/", id="broadcast"),
    pytest.param("https://240.0.0.1/", id="reserved"),
    pytest.param("https://192.0.2.1/", id="documentation-test-net-1"),
    pytest.param("https://198.51.100.7/", id="documentation-test-net-2"),
    pytest.param("https://203.0.113.9/", id="documentation-test-net-3"),
    pytest.param("https://192.88.99.1/", id="6to4-relay-anycast"),
    pytest.param("http://8.8.8.8/", id="public-but-not-https"),
]


@pytest.mark.parametrize("url", REFUSED)
def test_unsafe_address_is_refused_without_naming_it(url):
    with pytest.raises(addresses.UnsafeUrl) as refused:
        addresses.check_url(url)
    message = str(refused.value)
    assert urlsplit(url).hostname not in message
    assert not any(c.isdigit() for c in message), message


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/",
        "https://[2606:4700:4700::1111]/",
        "https://[::ffff:8.8.8.8]/",  # a mapped address is judged as the IPv4 address it is
    ],
)
def test_public_literal_is_accepted(url):
    addresses.check_url(url)
    assert addresses.resolve(url)[3] == [urlsplit(url).hostname]


def test_name_resolving_to_loopback_is_refused_without_the_address():
    with pytest.raises(addresses.UnsafeUrl) as refused:
        addresses.check_url("https://localhost/")
    message = str(refused.value)
    assert "localhost" in message
    assert "127.0.0.1" not in message and "::1" not in message


def test_name_resolving_to_nat64_is_refused_and_the_address_only_logged(monkeypatch, caplog):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, **kw: [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::a9fe:a9fe", port, 0, 0))],
    )
    with caplog.at_level(logging.INFO, logger="webhooks.addresses"), pytest.raises(addresses.UnsafeUrl) as refused:
        addresses.resolve("https://hooks.example.com/")
    assert str(refused.value) == "The host 'hooks.example.com' does not resolve to a public address."
    assert "embeds 169.254.169.254" in caplog.text and "64:ff9b::a9fe:a9fe" in caplog.text


def test_refused_webhook_endpoint_is_a_422_that_hides_the_address(auth_client):
    response = auth_client.post("/api/webhooks", {"url": "https://[64:ff9b::7f00:1]/hook"}, format="json")
    assert response.status_code == 422
    assert response.json()["warning"]["field"] == "url"
    assert b"7f00" not in response.content and b"127.0.0.1" not in response.content


def test_refused_issue_webhook_url_is_a_422_on_that_field(auth_client, delivery):
    response = auth_client.post(
        "/api/issues", {"client_issue_id": "x1", "webhook_url": "https://[2002:a00:1::]/hook"}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["warning"]["field"] == "webhook_url"
    assert b"2002:a00:1::" not in response.content and b"10.0.0.1" not in response.content
