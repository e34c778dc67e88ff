from celery import shared_task
from oauth2_provider.models import clear_expired


@shared_task(name="fulfillment.clear_expired_tokens", ignore_result=True)
def clear_expired_tokens() -> None:
    """django-oauth-toolkit's `cleartokens`: expired tokens deleted in batches. Run by beat."""
    clear_expired()
