"""Wake-ups never hold up a request for long (issue 15): a broker that does not answer costs
~0.1 s once, then nothing for a few seconds; a broker that answers gets the message."""

import json
import socket
import time

import pytest
import redis
from django.conf import settings

from getitdone import wakeups


@pytest.fixture
def silent_broker(settings):
    """A TCP port that accepts connections and never answers, as a hung broker host does."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    yield
    wakeups.reset()
    listener.close()


def test_a_silent_broker_holds_a_wake_up_a_tenth_of_a_second_then_none(silent_broker, caplog):
    started = time.monotonic()
    assert wakeups.wake("commands.run", [1]) is False
    assert time.monotonic() - started < 0.5
    started = time.monotonic()
    assert [wakeups.wake("commands.run", [n]) for n in range(100)] == [False] * 100  # backing off
    assert time.monotonic() - started < 0.05
    assert "the sweep will" in caplog.text


def test_a_wake_up_reaches_the_task_queue():
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("commands")
    assert wakeups.wake("commands.run_issue", [7, "A-1"]) is True
    [message] = [json.loads(raw) for raw in broker.lrange("commands", 0, -1)]
    assert message["headers"]["task"] == "commands.run_issue"
    assert message["headers"]["argsrepr"] == "[7, 'A-1']"
