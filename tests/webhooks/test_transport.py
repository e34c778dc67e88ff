"""The HTTP side of a delivery (libcurl), against real local HTTP servers."""

import socket
import threading
import time

import pytest
from werkzeug import Request, Response

from webhooks import transport


def _serve(httpserver, handler, path="/hook"):
    seen: list[Request] = []

    def record(request: Request) -> Response:
        seen.append(request)
        return handler(request)

    httpserver.expect_request(path, method="POST").respond_with_handler(record)
    return seen


def test_the_request_names_the_host_while_connecting_to_the_checked_address(httpserver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    seen = _serve(httpserver, lambda r: Response(status=204))
    url = f"http://localhost:{httpserver.port}/hook"
    result = transport.post(url, b'{"a":1}', {"webhook-id": "evt_1"})
    assert result.ok and result.http_status == 204 and result.error == ""
    request = seen[0]
    assert request.headers["Host"] == f"localhost:{httpserver.port}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == transport.USER_AGENT
    assert request.headers["webhook-id"] == "evt_1"
    assert "Expect" not in request.headers  # no 100-continue round trip
    assert request.get_data() == b'{"a":1}'


def test_only_the_first_kib_of_a_long_answer_is_kept_and_the_status_still_counts(httpserver):
    _serve(httpserver, lambda r: Response("é" + "x" * 200_000, status=200))
    result = transport.post(httpserver.url_for("/hook"), b"{}", {})
    assert result.ok and result.error == ""
    assert result.response_body.startswith("é") and len(result.response_body.encode()) <= 1024


def test_retry_after_is_read(httpserver):
    _serve(httpserver, lambda r: Response("busy", status=503, headers={"Retry-After": "120"}))
    result = transport.post(httpserver.url_for("/hook"), b"{}", {})
    assert (result.http_status, result.retry_after, result.response_body) == (503, 120, "busy")
    assert not result.ok


def test_a_batch_keeps_each_result_in_its_place(httpserver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False  # so the loopback receivers are refused...
    ok = transport.Request(httpserver.url_for("/hook"), b"{}", {})
    unsafe = transport.Request("http://127.0.0.1:1/nothing", b"{}", {})
    assert [r.error.split(":")[0] for r in transport.post_many([ok, unsafe])] == ["UnsafeUrl", "UnsafeUrl"]

    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # ...and here they are allowed
    _serve(httpserver, lambda r: Response(status=200))
    _serve(httpserver, lambda r: Response(status=500), path="/broken")
    broken = transport.Request(httpserver.url_for("/broken"), b"{}", {})
    refused = transport.Request("http://127.0.0.1:1/nothing", b"{}", {})
    ftp = transport.Request("ftp://127.0.0.1/x", b"{}", {})
    results = transport.post_many([ok, refused, broken, ftp, ok])
    assert [r.http_status for r in results] == [200, None, 500, None, 200]
    assert results[1].error.startswith("ConnectError")
    assert results[3].error.startswith("UnsafeUrl")


def test_a_receiver_slower_than_the_timeout_is_cut_off(httpserver, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.5

    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response(status=200)

    _serve(httpserver, slow)
    started = time.monotonic()
    result = transport.post(httpserver.url_for("/hook"), b"{}", {})
    assert time.monotonic() - started < 1.4
    assert result.http_status is None and result.error.startswith("TimeoutError")
    assert 400 <= result.duration_ms < 1400


@pytest.mark.parametrize("status", [301, 307, 308])
def test_redirects_are_answers_not_instructions(httpserver, status):
    seen = _serve(httpserver, lambda r: Response(status=status, headers={"Location": "/elsewhere"}))
    _serve(httpserver, lambda r: Response(status=200), path="/elsewhere")
    result = transport.post(httpserver.url_for("/hook"), b"{}", {})
    assert result.http_status == status and len(seen) == 1


def test_a_request_libcurl_cannot_take_fails_alone(httpserver):
    seen = _serve(httpserver, lambda r: Response(status=200))
    url = httpserver.url_for("/hook")
    ok = transport.Request(url, b"{}", {"webhook-id": "evt_ok"})
    results = transport.post_many(
        [
            transport.Request(url + "/höok", b"{}", {}),  # libcurl takes ASCII URLs only
            ok,
            transport.Request(url, b"{}", {"webhook-id": "évt"}),  # nor non-ASCII header values
        ]
    )
    assert [r.error.split(":")[0] for r in results] == ["InvalidRequest", "", "InvalidRequest"]
    assert results[1].ok
    assert transport.post(url, b"{}", {"webhook-id": "evt_next"}).ok
    assert [r.headers["webhook-id"] for r in seen] == ["evt_ok", "evt_next"]


def _stall_lookups(monkeypatch, prefix: str) -> threading.Event:
    """Host names starting with `prefix` do not resolve until the returned event is set, as
    with a resolver that does not answer (getaddrinfo has no timeout)."""
    real_getaddrinfo = socket.getaddrinfo
    release = threading.Event()

    def getaddrinfo(host, *args, **kwargs):
        if host.startswith(prefix):
            release.wait(30)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return release


def test_a_stalled_host_lookup_fails_its_requests_after_the_connect_timeout(httpserver, settings, monkeypatch):
    """getaddrinfo has no timeout; a batch must not wait for a stalled resolver (it must end
    well within its lease). Hosts resolve concurrently, at most CONNECT_TIMEOUT_MS in all."""
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    _serve(httpserver, lambda r: Response(status=204))
    release = _stall_lookups(monkeypatch, "stalled")
    stalled = [transport.Request(f"http://stalled{n}.invalid/hook", b"{}", {}) for n in range(3)]
    ok = transport.Request(httpserver.url_for("/hook"), b"{}", {})
    started = time.monotonic()
    try:
        results = transport.post_many([*stalled, ok])
    finally:
        release.set()
    elapsed = time.monotonic() - started
    assert [r.http_status for r in results] == [None, None, None, 204]
    assert all(r.error.startswith("TimeoutError: the host did not resolve") for r in results[:3])
    assert transport.CONNECT_TIMEOUT_MS / 1000 <= elapsed < 2 * transport.CONNECT_TIMEOUT_MS / 1000


def test_a_request_in_the_same_batch_as_a_stalled_lookup_is_sent_at_once(httpserver, settings, monkeypatch):
    """A claim may mix integrators in a batch: the request whose host resolves goes out as soon
    as it does, not when the batch's slowest lookup ends."""
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    arrived: list[float] = []
    _serve(httpserver, lambda r: arrived.append(time.monotonic()) or Response(status=204))
    release = _stall_lookups(monkeypatch, "stalled")
    started = time.monotonic()
    try:
        stalled, ok = transport.post_many(
            [
                transport.Request("http://stalled.invalid/hook", b"{}", {}),
                transport.Request(httpserver.url_for("/hook"), b"{}", {}),
            ]
        )
    finally:
        release.set()
    assert stalled.error.startswith("TimeoutError: the host did not resolve") and ok.http_status == 204
    assert arrived[0] - started < 0.5 and ok.duration_ms < 500


def test_a_batch_still_under_way_after_slow_after_says_so_once(httpserver, settings):
    """The drain hands over to another when its batch turns slow (webhooks/delivery/drain.py)."""
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    _serve(httpserver, lambda r: time.sleep(0.4) or Response(status=204), path="/slow")
    _serve(httpserver, lambda r: Response(status=204), path="/fast")
    calls: list[float] = []
    started = time.monotonic()
    [slow] = transport.post_many(
        [transport.Request(httpserver.url_for("/slow"), b"{}", {})],
        on_slow=lambda: calls.append(time.monotonic() - started), slow_after=0.1,
    )  # fmt: skip
    assert slow.http_status == 204 and len(calls) == 1 and 0.1 <= calls[0] < 0.3
    fast_calls: list[float] = []
    _serve(httpserver, lambda r: Response(status=204))
    [fast] = transport.post_many(
        [transport.Request(httpserver.url_for("/hook"), b"{}", {})], on_slow=lambda: fast_calls.append(1)
    )
    assert fast.ok and fast_calls == []


def test_a_failing_slow_batch_hand_over_does_not_fail_the_batch(httpserver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    _serve(httpserver, lambda r: time.sleep(0.2) or Response(status=204), path="/slow")

    def hand_over():
        raise ConnectionError("the cache is away")

    [slow] = transport.post_many([transport.Request(httpserver.url_for("/slow"), b"{}", {})], on_slow=hand_over,
                                 slow_after=0.05)  # fmt: skip
    assert slow.http_status == 204


def test_one_integrators_stalled_resolver_does_not_delay_another_integrators_delivery(
    httpserver, settings, monkeypatch
):
    """Integrator 1's hosts stop resolving and its deliveries keep coming, batch after batch;
    integrator 2's host resolves at once. Its deliveries must not queue behind 1's lookups for
    the resolver threads (they were 8 in all, shared)."""
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    _serve(httpserver, lambda r: Response(status=204))
    release = _stall_lookups(monkeypatch, "slow")
    try:
        for _batch in range(2):  # 1's deliveries to 12 hosts, and their retries in a later batch
            slow = [transport.Request(f"http://slow{n}.invalid/hook", b"{}", {}, owner=1) for n in range(12)]
            results = transport.post_many(slow)
            assert all(r.error.startswith("TimeoutError") for r in results)
        started = time.monotonic()
        [fast] = transport.post_many([transport.Request(httpserver.url_for("/hook"), b"{}", {}, owner=2)])
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert fast.http_status == 204 and elapsed < 1
    deadline = time.monotonic() + 10
    while transport._lookups and time.monotonic() < deadline:  # the stalled lookups end with the release
        time.sleep(0.05)
    assert not transport._lookups and not transport._lookups_per_owner


def test_a_host_that_resolved_slowly_is_not_looked_up_again_within_the_ttl(httpserver, settings, monkeypatch):
    """One slow lookup, not one per batch: the later batches use the checked answer."""
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    _serve(httpserver, lambda r: Response(status=204))
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def slow_getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        time.sleep(0.5)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    url = httpserver.url_for("/hook")
    assert transport.post(url, b"{}", {}).ok
    started = time.monotonic()
    assert transport.post(url, b"{}", {}).ok and time.monotonic() - started < 0.3
    assert lookups == ["localhost"]
    monkeypatch.setattr(transport, "ANSWER_TTL", 0.0)
    transport.forget_answers()
    assert transport.post(url, b"{}", {}).ok and transport.post(url, b"{}", {}).ok
    assert lookups == ["localhost"] * 3  # no TTL: a lookup each time
