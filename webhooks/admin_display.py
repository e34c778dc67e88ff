"""How deliveries read in the admin: one status badge, attempt counts, times, links. For the
webhooks admin and for other apps' pages that show deliveries (the order's timeline)."""

from datetime import datetime
from urllib.parse import urlsplit

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from webhooks.models import Delivery, DeliveryStatus, Event, Readiness


def delivery_status_badge(delivery: Delivery) -> SafeString:
    """One badge for what a delivery is: Succeeded, Failed, or Pending and why it waits."""
    if delivery.status == DeliveryStatus.SUCCEEDED:
        return format_html('<span class="gid-badge gid-succeeded">{}</span>', _("Succeeded"))
    if delivery.status == DeliveryStatus.FAILED:
        return format_html('<span class="gid-badge gid-failed">{}</span>', _("Failed"))
    if delivery.locked_until is not None and delivery.locked_until >= timezone.now():
        why = _("being sent")
    else:
        why = {
            Readiness.READY: _("ready"),
            Readiness.WAITING: _("waiting for retry"),
            Readiness.PAUSED: _("paused"),
        }.get(delivery.readiness, delivery.readiness)
    # Why it waits beside the badge, not in it: in a narrow column it goes under it (webhooks.css).
    return format_html(
        '<span class="gid-badge gid-pending">{}</span> <span class="gid-status-why">({})</span>', _("Pending"), why
    )


def delivery_attempts_summary(delivery: Delivery) -> SafeString | str:
    """How many attempts were made, and how many of them were manual."""
    if not delivery.manual_attempt_count:
        return str(delivery.attempts_made)
    manual = _("%(count)d manual") % {"count": delivery.manual_attempt_count}
    return format_html('{} <span class="gid-status-why">({})</span>', delivery.attempts_made, manual)


def short_url(url: str) -> SafeString:
    """Host and path, shortened, with line breaks allowed after each slash."""
    parts = urlsplit(url)
    short = Truncator(parts.netloc + parts.path).chars(36)
    return format_html_join(mark_safe("/<wbr>"), "{}", ((piece,) for piece in short.split("/")))


def when(value: datetime | None) -> str | None:
    """As the admin shows times (with seconds and zone): for values a display method returns,
    which Django shows as they are."""
    return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else None


def next_attempt(delivery: Delivery) -> str | None:
    """When the next attempt is due, for a delivery that has one to come."""
    return when(delivery.next_attempt_at) if delivery.status == DeliveryStatus.PENDING else None


def order_link(event: Event) -> SafeString | None:
    if event.issue is None:
        return None
    url = reverse("admin:orders_issue_change", args=[event.issue_id])
    return format_html('<a href="{}">{}</a>', url, event.issue.client_issue_id)


def endpoint_link(delivery: Delivery) -> SafeString:
    if delivery.endpoint_id is None:  # the issue's own webhook_url
        return format_html(
            '<span class="gid-url" title="{}">{} {}</span>', delivery.url, _("Order's URL:"), short_url(delivery.url)
        )
    url = reverse("admin:webhooks_webhookendpoint_change", args=[delivery.endpoint_id])
    return format_html('<a class="gid-url" href="{}" title="{}">{}</a>', url, delivery.url, short_url(delivery.url))
