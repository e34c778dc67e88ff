"""The drills: each puts load on the stack, breaks one part of it, and counts what came through.

Counted from the outside (the API's answers, the receiver's arrivals) and checked against the
database: every event delivered (duplicates allowed: at-least-once), every status change with
exactly its one event, every accepted command run once and in order per issue.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests
from django.db import connection

from tests.faults.stack import App, Postgres, Receiver, Redis, in_background


@dataclass
class Tenant:
    """An integrator of the drill: its API session and its endpoints' receiver paths."""

    name: str
    integrator_id: int
    session: requests.Session
    base: str
    paths: list[str]
    answers: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, method: str, path: str, body: dict) -> int:
        try:
            response = self.session.request(method, f"{self.base}{path}", json=body, timeout=15)
            status = response.status_code
            answer = str(status)
            if status == 503 and not _is_503_envelope(response):  # the contract: an envelope, and when to retry
                answer = "503 without its envelope or Retry-After"
        except requests.RequestException:
            status, answer = 0, "no answer"  # the change may or may not have been made
        with self.lock:
            self.answers[f"{method} {path.split('/')[2]} {answer}"] += 1
        return status

    def count(self, answer: str) -> int:
        """How many requests got this answer ("POST issues 201")."""
        return self.answers[answer]

    def create(self, key: str) -> int:
        return self.call("POST", "/api/issues", {"client_issue_id": key, "workflow": "drill", "details": {"n": key}})

    def move(self, key: str, status: str) -> int:
        return self.call("PUT", f"/api/issues/status/{key}", {"status": status})

    def note(self, key: str, text: str) -> int:
        return self.call("POST", "/api/commands", {"type": "AddNote", "client_issue_id": key, "text": text})


def _is_503_envelope(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == 503 and bool(response.headers.get("Retry-After"))


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """True once `predicate` holds; False if it still does not after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _created(tenant: Tenant, expected: int) -> list[str]:
    """A drill whose issues were not all created would count too little and pass."""
    created = tenant.count("POST issues 201")
    return [] if created == expected else [f"only {created} of {expected} issues created"]


@dataclass
class Outcome:
    title: str
    rows: list[tuple[str, object]]
    failures: list[str]

    def print(self) -> None:
        print(f"\n{self.title}")
        width = max(len(k) for k, _ in self.rows)
        for key, value in self.rows:
            print(f"  {key:<{width}}  {value}")
        print("  " + ("PASS" if not self.failures else "FAIL: " + "; ".join(self.failures)))


def _query(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class Unsettled(Exception):
    """Work still queued, running or pending long after the drill's faults were over."""


def settle(tenants: list[Tenant], receiver: Receiver, timeout: float = 180) -> None:
    """Until nothing of theirs is queued, running or pending (a paused delivery waits for its
    endpoint to be enabled: it is not going anywhere). Unsettled if that takes over `timeout`."""
    connection.close()  # the database may have restarted under this connection
    ids = [t.integrator_id for t in tenants]
    busy: list[tuple] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            busy = _query(
                "SELECT 'commands', status, COUNT(*) FROM commands_command WHERE integrator_id = ANY(%s)"
                " AND status IN ('queued', 'running') GROUP BY status"
                " UNION ALL SELECT 'deliveries to ' || url, readiness, COUNT(*) FROM webhooks_delivery"
                " WHERE integrator_id = ANY(%s) AND status = 'pending' AND readiness <> 'paused'"
                " GROUP BY url, readiness",
                [ids, ids],
            )
        except Exception:
            connection.close()
            busy = [("the database", "unreachable", 0)]
        if not busy:
            return
        time.sleep(0.5)
    left = ", ".join(f"{what} {state}: {n}" for what, state, n in busy)
    raise Unsettled(f"still busy after {timeout:.0f} s: {left}")


def delivery_rows(tenants: list[Tenant], receiver: Receiver) -> tuple[list[tuple[str, object]], list[str]]:
    """Events published for these integrators, and what their receivers got of each delivery
    (an event for each endpoint; a paused one, its endpoint disabled, is not expected)."""
    ids = [t.integrator_id for t in tenants]
    [(events,)] = _query("SELECT COUNT(*) FROM webhooks_event WHERE integrator_id = ANY(%s)", [ids])
    expected = _query(
        "SELECT url, event_id FROM webhooks_delivery WHERE integrator_id = ANY(%s) AND readiness <> 'paused'", [ids]
    )
    stats = receiver.stats()
    successes = Counter()
    for path, by_id in stats.items():
        for webhook_id, seen in by_id.items():
            successes[(path, webhook_id)] = sum(1 for _, status in seen if 200 <= status < 300)
    got = [successes[("/" + url.split("/", 3)[3], event_id)] for url, event_id in expected]
    delivered = sum(1 for n in got if n)
    lost = len(got) - delivered
    rows = [("events published", events), ("deliveries (to each endpoint)", len(got)), ("delivered", delivered),
            ("duplicated", sum(n - 1 for n in got if n)), ("lost", lost)]  # fmt: skip
    return rows, [f"{lost} deliveries lost"] if lost else []


def state_rows(tenants: list[Tenant]) -> tuple[list[tuple[str, object]], list[str]]:
    """Every status change with exactly its event (nothing half-written), per issue."""
    ids = [t.integrator_id for t in tenants]
    [(changes, events, mismatched)] = _query(
        """
        WITH per_issue AS (
            SELECT i.id,
                   (SELECT COUNT(*) FROM orders_statuschange s WHERE s.issue_id = i.id AND s.from_step_id IS NOT NULL)
                       AS changes,
                   (SELECT COUNT(*) FROM webhooks_event e WHERE e.issue_id = i.id AND e.type = 'issue.status_changed')
                       AS events
            FROM orders_issue i WHERE i.integrator_id = ANY(%s)
        )
        SELECT COALESCE(SUM(changes), 0), COALESCE(SUM(events), 0), COUNT(*) FILTER (WHERE changes <> events)
        FROM per_issue
        """,
        [ids],
    )
    moved = sum(t.answers[k] for t in tenants for k in t.answers if k.startswith("PUT issues 200"))
    failures = [f"{mismatched} issues whose status changes and events differ"] if mismatched else []
    if changes < moved:
        failures.append(f"{moved} moves answered 200 but only {changes} status changes are recorded")
    rows = [("status changes answered 200", moved), ("status changes recorded", changes),
            ("their issue.status_changed events", events)]  # fmt: skip
    return rows, failures


def command_rows(tenants: list[Tenant], sent: dict[str, list[str]]) -> tuple[list[tuple[str, object]], list[str]]:
    """Accepted commands finished, each once, in order per issue (`sent`: the texts each issue's
    notes were sent with, in order, those answered 202 marked)."""
    ids = [t.integrator_id for t in tenants]
    accepted = sum(t.answers[k] for t in tenants for k in t.answers if k.startswith("POST commands 202"))
    [(finished, failed)] = _query(
        "SELECT COUNT(*) FILTER (WHERE status IN ('succeeded', 'failed')), COUNT(*) FILTER (WHERE status = 'failed')"
        " FROM commands_command WHERE integrator_id = ANY(%s)",
        [ids],
    )
    notes: dict[str, list[str]] = {}
    for key, text in _query(
        "SELECT i.client_issue_id, n.text FROM orders_issuenote n JOIN orders_issue i ON i.id = n.issue_id"
        " WHERE i.integrator_id = ANY(%s) ORDER BY n.id",
        [ids],
    ):
        notes.setdefault(key, []).append(text)
    out_of_order = twice = missing = 0
    for key, texts in sent.items():
        got = notes.get(key, [])
        twice += len(got) - len(set(got))
        missing += sum(1 for text in texts if text.endswith("*") and text[:-1] not in got)
        numbers = [int(t.split(":")[1]) for t in got]
        out_of_order += numbers != sorted(numbers)
    lost = missing
    rows = [("commands accepted (202)", accepted), ("finished", f"{finished} ({failed} failed)"),
            ("run twice", twice), ("issues out of order", out_of_order), ("lost", lost)]  # fmt: skip
    failures = [f"{n} {what}" for n, what in [(lost, "commands lost"), (twice, "commands run twice"),
                                               (out_of_order, "issues with notes out of order"),
                                               (failed, "commands failed")] if n]  # fmt: skip
    return rows, failures


def _answers(tenants: list[Tenant]) -> tuple[str, str]:
    total: Counter = Counter()
    for tenant in tenants:
        total.update(tenant.answers)
    return "API answers", ", ".join(f"{k}: {v}" for k, v in sorted(total.items()))


class Load:
    """Status changes and numbered notes (commands) on a tenant's issues, from one thread per
    issue, until stopped: in each issue's order, so the order its notes must end in is known."""

    def __init__(self, tenant: Tenant, keys: list[str], pause: float = 0.05) -> None:
        self.tenant, self.keys, self.pause = tenant, keys, pause
        self.sent: dict[str, list[str]] = {key: [] for key in keys}
        self.stopping = threading.Event()
        self.threads = [in_background(self._run, key) for key in keys]

    def _run(self, key: str) -> None:
        n, step = 0, "B"
        while not self.stopping.is_set():
            if self.tenant.move(key, step) == 200:
                step = "A" if step == "B" else "B"
            n += 1
            text = f"{key}:{n}"
            status = self.tenant.note(key, text)
            self.sent[key].append(text + ("*" if status == 202 else ""))
            time.sleep(self.pause)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def drill_webhook_worker_killed(app: App, receiver: Receiver, tenant: Tenant, events: int) -> Outcome:
    """kill -9 the webhook worker while `events` deliveries are under way, then start it again."""
    started = time.monotonic()
    failures = []
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(tenant.create, f"K-{n}") for n in range(events)]

        def arrived() -> int:
            return sum(len(v) for p in tenant.paths for v in receiver.stats().get(p, {}).values())

        if not wait_until(lambda: arrived() >= events // 4, 120):
            failures.append(f"only {arrived()} deliveries arrived before the kill (wanted {events // 4})")
        app.kill("worker")
        killed_at = time.monotonic() - started
        time.sleep(2)
        app.start("worker")
        [f.result() for f in futures]
    settle([tenant], receiver)
    rows, lost = delivery_rows([tenant], receiver)
    failures += _created(tenant, events) + lost
    rows = [("worker killed after", f"{killed_at:.1f} s"), _answers([tenant]), *rows]
    return Outcome(f"kill -9 the webhook worker during {events} deliveries", rows, failures)


def drill_redis_stopped(app: App, redis: Redis, receiver: Receiver, tenant: Tenant, seconds: float) -> Outcome:
    """Stop Redis (broker and cache) while the API takes status changes and commands."""
    keys = [f"R-{n}" for n in range(6)]
    for key in keys:
        tenant.create(key)
    load = Load(tenant, keys)
    time.sleep(3)
    redis.stop()
    time.sleep(seconds)
    redis.start()
    time.sleep(3)
    load.stop()
    settle([tenant], receiver)
    rows, failures = [_answers([tenant])], []
    for part in (delivery_rows([tenant], receiver), state_rows([tenant]), command_rows([tenant], load.sent)):
        rows += part[0]
        failures += part[1]
    refused = sum(v for k, v in tenant.answers.items() if not k.endswith((" 200", " 201", " 202")))
    if refused:
        failures.append(f"{refused} requests not served while Redis was down")
    return Outcome(f"stop Redis for {seconds:.0f} s under status changes and commands", rows, failures)


def drill_postgres_restarted(app: App, postgres: Postgres, receiver: Receiver, tenant: Tenant) -> Outcome:
    """Restart PostgreSQL under load: clients get 503 envelopes, nothing is half-written."""
    keys = [f"P-{n}" for n in range(6)]
    for key in keys:
        tenant.create(key)
    load = Load(tenant, keys, pause=0.02)
    time.sleep(3)
    took = postgres.restart()
    time.sleep(5)
    load.stop()
    settle([tenant], receiver)
    rows, failures = [("restart took", f"{took:.1f} s"), _answers([tenant])], []
    for part in (delivery_rows([tenant], receiver), state_rows([tenant]), command_rows([tenant], load.sent)):
        rows += part[0]
        failures += part[1]
    odd = {k: v for k, v in tenant.answers.items() if not k.endswith((" 200", " 201", " 202", " 503"))}
    if odd:
        failures.append(f"answers other than 2xx and 503: {odd}")
    return Outcome("restart PostgreSQL under load", rows, failures)


def drill_command_worker_killed(app: App, receiver: Receiver, tenant: Tenant, commands: int) -> Outcome:
    """kill -9 the command worker mid-command, then start it again."""
    keys = [f"C-{n}" for n in range(10)]
    for key in keys:
        tenant.create(key)
    sent: dict[str, list[str]] = {key: [] for key in keys}

    def send(key: str) -> None:
        for n in range(1, commands // len(keys) + 1):
            status = tenant.note(key, f"{key}:{n}")
            sent[key].append(f"{key}:{n}" + ("*" if status == 202 else ""))

    threads = [in_background(send, key) for key in keys]

    def finished() -> int:
        return _query("SELECT COUNT(*) FROM commands_command WHERE integrator_id = %s AND status = 'succeeded'",
                      [tenant.integrator_id])[0][0]  # fmt: skip

    failures = _created(tenant, len(keys))
    if not wait_until(lambda: finished() >= commands // 3, 120):
        failures.append(f"only {finished()} commands finished before the kill (wanted {commands // 3})")
    app.kill("commands")
    time.sleep(2)
    app.start("commands")
    for thread in threads:
        thread.join()
    settle([tenant], receiver)
    rows, wrong = command_rows([tenant], sent)
    failures += wrong
    accepted = tenant.count("POST commands 202")
    if accepted != commands:
        failures.append(f"only {accepted} of {commands} commands accepted")
    return Outcome(f"kill -9 the command worker during {commands} commands", [_answers([tenant]), *rows], failures)


def drill_receivers(receiver: Receiver, tenants: dict[str, Tenant], events: int) -> Outcome:
    """Receivers that answer 500 then 200, hang past the timeout, answer 429 with Retry-After,
    and answer 410."""
    failures: list[str] = []
    for kind, tenant in tenants.items():
        for n in range(events):
            tenant.create(f"{kind}-{n}")
        failures += [f"{kind}: {f}" for f in _created(tenant, events)]
    settle(list(tenants.values()), receiver)
    stats = receiver.stats()
    rows: list[tuple[str, object]] = []
    for kind in ("flaky", "hang", "throttle"):
        part_rows, part_failures = delivery_rows([tenants[kind]], receiver)
        attempts = [len(seen) for seen in stats.get(tenants[kind].paths[0], {}).values()]
        rows += [(f"{kind}: {k}", v) for k, v in part_rows] + [(f"{kind}: attempts per event", Counter(attempts))]
        failures += [f"{kind}: {f}" for f in part_failures]
    waits = [seen[1][0] - seen[0][0] for seen in stats.get(tenants["throttle"].paths[0], {}).values() if len(seen) > 1]
    rows.append(("throttle: shortest wait after Retry-After: 3", f"{min(waits, default=0):.1f} s"))
    if min(waits, default=0) < 3:
        failures.append("a retry came before the receiver's Retry-After")
    gone = tenants["gone"]
    [(active, paused)] = _query(
        "SELECT (SELECT bool_and(is_active) FROM webhooks_webhookendpoint WHERE url LIKE %s),"
        " (SELECT COUNT(*) FROM webhooks_delivery WHERE url LIKE %s AND readiness = 'paused')",
        ["%/gone/%", "%/gone/%"],
    )
    told = set(stats.get(gone.paths[1], {}))
    disabled_events = [row[0] for row in _query(
        "SELECT id FROM webhooks_event WHERE integrator_id = %s AND type = 'webhook.endpoint.disabled'",
        [gone.integrator_id],
    )]  # fmt: skip
    rows += [("gone: endpoint disabled", not active), ("gone: deliveries paused", paused),
             ("gone: webhook.endpoint.disabled events", len(disabled_events)),
             ("gone: events at the integrator's other endpoint", len(told))]  # fmt: skip
    if active or len(disabled_events) != 1:
        failures.append("the 410 endpoint was not disabled once, with its event")
    elif disabled_events[0] not in told:
        failures.append("the integrator's other endpoint was not told of the disabled one")
    owed = {row[0] for row in _query("SELECT event_id FROM webhooks_delivery WHERE url LIKE %s", ["%" + gone.paths[1]])}
    if owed - told:  # the other endpoint still gets every event
        failures.append(f"gone: {len(owed - told)} events never reached the integrator's other endpoint")
    return Outcome("receivers: 500 then 200, a hang, 429 + Retry-After, 410", rows, failures)


def drill_slow_dns(receiver: Receiver, slow: Tenant, fast: Tenant, events: int) -> Outcome:
    """One integrator's receivers resolve slowly, another's at once: the fast one is not delayed."""

    def latencies(tenant: Tenant) -> dict[str, float]:
        """From each event's commit (nearly its created_at) to its first arrival, by event id."""
        created = dict(_query("SELECT id, EXTRACT(EPOCH FROM created_at) FROM webhooks_event WHERE integrator_id = %s",
                              [tenant.integrator_id]))  # fmt: skip
        stats = receiver.stats()
        return {i: min(t for t, _ in seen) - float(created[i]) for p in tenant.paths
                for i, seen in stats.get(p, {}).items() if i in created}  # fmt: skip

    for n in range(events // 4):  # the fast one alone first: its baseline
        fast.create(f"alone-{n}")
        time.sleep(0.05)
    settle([fast], receiver)
    alone = latencies(fast)
    baseline = sorted(alone.values())
    with ThreadPoolExecutor(4) as pool:
        for n in range(events):
            pool.submit(slow.create, f"S-{n}")
            pool.submit(fast.create, f"F-{n}")
            time.sleep(0.05)
    settle([slow, fast], receiver)
    together = sorted(v for i, v in latencies(fast).items() if i not in alone)
    slow_latencies = sorted(latencies(slow).values())

    def p(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")

    rows: list[tuple[str, object]] = [
        ("fast alone: p50 / p99", f"{p(baseline, 0.5) * 1000:.0f} / {p(baseline, 0.99) * 1000:.0f} ms"),
        ("fast beside slow: p50 / p99", f"{p(together, 0.5) * 1000:.0f} / {p(together, 0.99) * 1000:.0f} ms"),
        ("slow: p50 / max", f"{p(slow_latencies, 0.5):.1f} / {max(slow_latencies, default=0):.1f} s"),
    ]
    durations = sorted(row[0] for row in _query(
        "SELECT a.duration_ms FROM webhooks_deliveryattempt a JOIN webhooks_delivery d ON d.id = a.delivery_id"
        " WHERE d.integrator_id = %s", [fast.integrator_id]))  # fmt: skip
    rows.append(("fast: attempt duration p50 / max", f"{p(durations, 0.5):.0f} / {max(durations, default=0)} ms"))
    failures = []
    for tenant in (slow, fast):
        part_rows, part_failures = delivery_rows([tenant], receiver)
        rows += [(f"{tenant.name}: {k}", v) for k, v in part_rows]
        failures += part_failures
    if len(baseline) < events // 4 or len(together) < events:
        failures.append(f"too few fast deliveries measured ({len(baseline)} alone, {len(together)} beside slow)")
    elif p(together, 0.99) > 1.0:
        failures.append("the fast integrator's deliveries were delayed past 1 s")
    failures += _created(slow, events) + _created(fast, events // 4 + events)
    return Outcome("one integrator's receivers resolve slowly (2.5 s), another's at once", rows, failures)


def run(name: str, drill: Callable[[], Outcome]) -> Outcome:
    started = time.monotonic()
    try:
        outcome = drill()
    except Unsettled as exc:
        outcome = Outcome(f"{name}: did not settle", [], [str(exc)])
    outcome.rows.append(("drill took", f"{time.monotonic() - started:.0f} s"))
    outcome.print()
    return outcome
