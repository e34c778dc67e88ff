"""The HTTP POSTs of deliveries, a batch at a time: libcurl (pycurl) sends a batch concurrently
from the calling thread, its connections kept alive per thread; connect timeout 3 s, 10 s in all
(WEBHOOKS_TIMEOUT_SECONDS), no redirects, no proxies, and each connection goes to the address
that was just checked (the Host header and TLS SNI/certificate still name the host).

Why libcurl and not a Python client: a local receiver answered 3,500 POSTs/s to one thread
driving libcurl at ~75 µs of CPU each, against 1,200/s at ~720 µs each from 16 threads on urllib3
(tests/perf). Sending is most of a webhook worker's work, and the GIL made it the bottleneck.
"""

import email.utils
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import certifi
import pycurl
from django.conf import settings

from webhooks import addresses

RESPONSE_BODY_LIMIT = 1024
READ_LIMIT = 64 * 1024  # a longer answer is cut off (the status still counts)
CONNECT_TIMEOUT_MS = 3000
USER_AGENT = "GetItDone-Webhooks/1"

# A batch still under way after this long is slow (on_slow): longer than most receivers take to
# answer, short enough that deliveries waiting behind it are not noticeably late.
SLOW_BATCH_SECONDS = 0.25

logger = logging.getLogger(__name__)

# libcurl's error codes as the error classes an attempt records ("CURLE_…" names mean little to
# an integrator reading the attempt log).
_ERRORS = {
    pycurl.E_COULDNT_RESOLVE_HOST: "NameResolutionError",
    pycurl.E_COULDNT_CONNECT: "ConnectError",
    pycurl.E_OPERATION_TIMEDOUT: "TimeoutError",
    pycurl.E_SSL_CONNECT_ERROR: "SSLError",
    pycurl.E_PEER_FAILED_VERIFICATION: "SSLError",
    pycurl.E_GOT_NOTHING: "RemoteDisconnected",
    pycurl.E_SEND_ERROR: "SendError",
    pycurl.E_RECV_ERROR: "RecvError",
}


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]
    owner: int | None = None  # the integrator: its host lookups get a bounded share of the resolver


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
    """Retry-After in seconds, given as seconds or as an HTTP date (RFC 9110 §10.2.3)."""
    value = (value or "").strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None  # not an HTTP date (those are GMT)
    return max(0, math.ceil((when - datetime.now(UTC)).total_seconds()))


@dataclass
class _Transfer:
    """One request in flight: what its callbacks collect."""

    index: int
    started: float
    head: bytearray = field(default_factory=bytearray)
    received: int = 0
    retry_after: str | None = None

    def write(self, chunk: bytes) -> int:
        self.received += len(chunk)
        if len(self.head) < RESPONSE_BODY_LIMIT:
            self.head += chunk[: RESPONSE_BODY_LIMIT - len(self.head)]
        return len(chunk) if self.received <= READ_LIMIT else 0  # 0 stops the transfer

    def header(self, line: bytes) -> None:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"retry-after":
            self.retry_after = value.decode("latin-1").strip()

    @property
    def cut_off(self) -> bool:
        return self.received > READ_LIMIT

    def result(self, status: int | None = None, error: str = "") -> PostResult:
        return PostResult(
            http_status=status,
            duration_ms=int((time.monotonic() - self.started) * 1000),
            error=error[:300],
            # NUL cannot be stored in a text column: shown as the replacement character
            response_body=self.head.decode("utf-8", "replace").replace("\x00", "\ufffd"),
            retry_after=_retry_after(self.retry_after),
        )


class _Sender:
    """Per thread: a libcurl multi handle (its connection cache is the keep-alive pool) and the
    easy handles it reuses. libcurl handles must not be shared between threads."""

    def __init__(self) -> None:
        self.multi = pycurl.CurlMulti()
        # Idle connections kept per thread: enough for one batch to as many receivers.
        self.multi.setopt(pycurl.M_MAXCONNECTS, max(settings.WEBHOOKS_BATCH_SIZE, 8))
        self.idle: list[pycurl.Curl] = []

    def handle(self) -> pycurl.Curl:
        if self.idle:
            easy = self.idle.pop()
            easy.reset()
            return easy
        return pycurl.Curl()


_senders = threading.local()
_CA_BUNDLE = certifi.where()


def _thread_sender() -> _Sender:
    """This thread's sender, made on first use (not at import, before settings are read)."""
    sender = getattr(_senders, "sender", None)
    if sender is None:
        sender = _senders.sender = _Sender()
    return sender


# Host lookups run here, so that a batch's hosts resolve at once and a stalled resolver costs a
# batch at most CONNECT_TIMEOUT_MS (getaddrinfo has no timeout of its own, and a batch must end
# well within its lease). A lookup still stalled keeps its thread until the resolver gives up, so
# one integrator's slow DNS must not take the threads every other integrator needs: a host whose
# lookup is still under way is not looked up again (the next batches wait on the same lookup),
# and each integrator has at most _LOOKUPS_PER_OWNER lookups under way; past that its requests
# fail at once, to be retried on the schedule.
#
# A host's checked answer is kept for ANSWER_TTL seconds, per process: a host that takes seconds
# to resolve costs one slow batch in that time, not every batch (each would wait on the lookup,
# and hold its drain thread while every integrator's new deliveries wait for a free one). It is
# the address that was checked that is connected to, so the cache cannot be a way around the
# check; a host that moves is followed within the TTL.
_RESOLVE_THREADS = 32
_LOOKUPS_PER_OWNER = 4
ANSWER_TTL = 10.0  # seconds
_resolver: ThreadPoolExecutor | None = None
_resolver_lock = threading.Lock()
_lookups: dict[tuple[str, str], Future] = {}  # under way, by (scheme, netloc)
_lookups_per_owner: dict[int | None, int] = {}
_answers: dict[tuple[str, str], tuple[float, bool, tuple[str, str, int, list[str]]]] = {}  # done, with expiry


def _lookup(key: tuple[str, str], url: str, owner: int | None) -> Future | None:
    """The lookup of this host, already under way or started now; None if the owner has too
    many under way."""
    global _resolver
    with _resolver_lock:
        if key in _lookups:
            return _lookups[key]
        answer = _answers.get(key)
        if answer is not None:
            expires, private_allowed, found = answer
            if expires > time.monotonic() and private_allowed == settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
                known: Future = Future()
                known.set_result(found)
                return known
            del _answers[key]
        if _lookups_per_owner.get(owner, 0) >= _LOOKUPS_PER_OWNER:
            return None
        if _resolver is None:
            _resolver = ThreadPoolExecutor(_RESOLVE_THREADS, thread_name_prefix="webhooks-resolve")
        # Registered under the lock the lookup takes to forget itself: it cannot end first.
        future = _lookups[key] = _resolver.submit(_resolve, key, url, owner)
        _lookups_per_owner[owner] = _lookups_per_owner.get(owner, 0) + 1
    return future


def _resolve(key: tuple[str, str], url: str, owner: int | None) -> tuple[str, str, int, list[str]]:
    """Look the host up, and forget the lookup before its answer is seen: a batch that sees it
    done and ends must not leave it to the next batch (a done-callback would run only after)."""
    found = None
    try:
        found = addresses.resolve(url)
        return found
    finally:
        with _resolver_lock:
            if found is not None:  # a checked answer; a refusal or failure is looked up again next time
                if len(_answers) >= 10_000:
                    _answers.clear()  # bounded: many hosts then cost a lookup each again, nothing worse
                _answers[key] = (time.monotonic() + ANSWER_TTL, settings.WEBHOOKS_ALLOW_PRIVATE_URLS, found)
            del _lookups[key]
            _lookups_per_owner[owner] -= 1
            if not _lookups_per_owner[owner]:
                del _lookups_per_owner[owner]


def forget_answers() -> None:
    """Drop the kept answers (tests; a host's address changed and cannot wait ANSWER_TTL)."""
    with _resolver_lock:
        _answers.clear()


def _start_lookups(requests: list[Request]) -> tuple[dict[tuple[str, str], Future], dict[tuple[str, str], str]]:
    """Each scheme and host of a batch, looked up concurrently: the lookups under way, and the
    hosts that fail at once (their integrator has too many lookups under way)."""
    lookups: dict[tuple[str, str], Future] = {}
    refused: dict[tuple[str, str], str] = {}
    for request in requests:
        try:
            parts = urlsplit(request.url)
        except ValueError:
            continue  # the request fails on its own when it is configured
        key = (parts.scheme, parts.netloc)
        if key in lookups or key in refused:
            continue
        lookup = _lookup(key, request.url, request.owner)
        if lookup is None:
            refused[key] = (
                f"TimeoutError: not looked up; {_LOOKUPS_PER_OWNER} earlier lookups of this integrator's hosts "
                "are still unanswered"
            )
        else:
            lookups[key] = lookup
    return lookups, refused


def _target(lookup: Future) -> tuple[str, int] | str:
    """The address and port a finished lookup says to connect to, or its requests' error."""
    try:
        _scheme, _host, port, found = lookup.result()
        return found[0], port
    except addresses.UnsafeUrl as exc:
        return f"UnsafeUrl: {exc}"
    except (UnicodeError, ValueError) as exc:  # a host name idna cannot encode
        return f"InvalidRequest: {type(exc).__name__}: {exc}"
    except Exception as exc:  # the resolver's failure is these requests' result, not the batch's
        return f"NameResolutionError: {type(exc).__name__}: {exc}"


def _connect_to(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"::{host}:{port}"  # any host and port of this request goes to this address


def _configure(easy: pycurl.Curl, request: Request, address: str, port: int, transfer: _Transfer) -> None:
    easy.setopt(pycurl.URL, request.url)
    easy.setopt(pycurl.CONNECT_TO, [_connect_to(address, port)])
    easy.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
    easy.setopt(pycurl.PROXY, "")  # never through a proxy from the environment
    easy.setopt(pycurl.NOSIGNAL, 1)  # timeouts without SIGALRM: we run in threads
    easy.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
    easy.setopt(pycurl.FOLLOWLOCATION, 0)
    easy.setopt(pycurl.CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS)
    # At least 1 ms: 0 would mean no limit at all.
    easy.setopt(pycurl.TIMEOUT_MS, max(1, int(settings.WEBHOOKS_TIMEOUT_SECONDS * 1000)))
    easy.setopt(pycurl.CAINFO, _CA_BUNDLE)
    easy.setopt(pycurl.USERAGENT, USER_AGENT)
    easy.setopt(pycurl.POSTFIELDS, request.body)
    easy.setopt(
        pycurl.HTTPHEADER,
        [f"{k}: {v}" for k, v in request.headers.items()] + ["Content-Type: application/json", "Expect:"],
    )
    easy.setopt(pycurl.WRITEFUNCTION, transfer.write)
    easy.setopt(pycurl.HEADERFUNCTION, transfer.header)


def post_many(
    requests: list[Request], *, on_slow: Callable[[], None] | None = None, slow_after: float = SLOW_BATCH_SECONDS
) -> list[PostResult]:
    """POST each request, concurrently; results in the same order. Never raises for what a
    receiver or the network does: that is a result with an `error`.

    Each request starts as soon as its host is looked up, so a host that resolves slowly delays
    only its own requests, not the batch's others (another integrator's, maybe); a host not
    resolved within CONNECT_TIMEOUT_MS fails its requests. `on_slow` is called once if the batch
    is still under way after `slow_after` seconds (a slow receiver or resolver)."""
    results: list[PostResult | None] = [None] * len(requests)
    started = time.monotonic()
    slow_at = started + slow_after if on_slow is not None else math.inf
    lookups, refused = _start_lookups(requests)
    lookup_deadline = started + CONNECT_TIMEOUT_MS / 1000
    waiting: dict[tuple[str, str], list[int]] = {}  # requests by the host they wait for
    in_flight: dict[pycurl.Curl, _Transfer] = {}
    sender = _thread_sender()
    multi = sender.multi

    def start(index: int, target: tuple[str, int] | str) -> None:
        transfer = _Transfer(index, started)
        if isinstance(target, str):
            results[index] = transfer.result(error=target)
            return
        try:
            easy = sender.handle()
            _configure(easy, requests[index], *target, transfer)
        except (UnicodeError, ValueError) as exc:
            # A URL or header libcurl cannot take (non-ASCII, NUL, an overlong label): this
            # request's failure, not the batch's.
            results[index] = transfer.result(error=f"InvalidRequest: {type(exc).__name__}: {exc}")
            return
        multi.add_handle(easy)
        in_flight[easy] = transfer

    def resolved(key: tuple[str, str], target: tuple[str, int] | str) -> None:
        del lookups[key]
        for index in waiting.pop(key, []):
            start(index, target)

    def finish(easy: pycurl.Curl, errno: int = 0, message: str = "") -> None:
        multi.remove_handle(easy)
        transfer = in_flight.pop(easy)
        status = easy.getinfo(pycurl.RESPONSE_CODE) or None
        error = ""
        if errno and not (errno == pycurl.E_WRITE_ERROR and transfer.cut_off):
            error = f"{_ERRORS.get(errno, f'CurlError{errno}')}: {message}"
        results[transfer.index] = transfer.result(status, error)
        sender.idle.append(easy)

    try:
        for index, request in enumerate(requests):
            try:
                parts = urlsplit(request.url)
                key = (parts.scheme, parts.netloc)
            except ValueError as exc:
                results[index] = _Transfer(index, started).result(error=f"InvalidRequest: ValueError: {exc}")
                continue
            if key in refused:
                start(index, refused[key])
            else:
                waiting.setdefault(key, []).append(index)
        while lookups or in_flight:
            if on_slow is not None and time.monotonic() >= slow_at:
                notify, on_slow, slow_at = on_slow, None, math.inf
                try:
                    notify()
                except Exception:  # the batch goes on: a failed hand-over only costs latency
                    logger.exception("webhooks: the slow-batch hand-over failed")
            wake_by = min(lookup_deadline, slow_at)
            if lookups and not in_flight:  # nothing to drive: wait for the next host to resolve
                wait_for(lookups.values(), timeout=max(0.0, wake_by - time.monotonic()), return_when=FIRST_COMPLETED)
            for key, lookup in list(lookups.items()):
                if lookup.done():
                    resolved(key, _target(lookup))
                elif time.monotonic() >= lookup_deadline:
                    resolved(key, f"TimeoutError: the host did not resolve within {CONNECT_TIMEOUT_MS} ms")
            if not in_flight:
                continue
            while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
            while True:
                queued, succeeded, failed = multi.info_read()
                for easy in succeeded:
                    finish(easy)
                for easy, errno, message in failed:
                    finish(easy, errno, message)
                if not queued:
                    break
            if in_flight:
                # A lookup may end meanwhile, or the batch turn slow: look again by then.
                multi.select(max(0.0, min(0.01 if lookups else 0.5, slow_at - time.monotonic())))
    finally:
        # Only after an exception: nothing of this batch may stay attached for the next one.
        for easy in in_flight:
            multi.remove_handle(easy)
            easy.close()
    return results  # type: ignore[return-value]  # every slot is filled above


def post(url: str, body: bytes, headers: dict[str, str]) -> PostResult:
    return post_many([Request(url, body, headers)])[0]
