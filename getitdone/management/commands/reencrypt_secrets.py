from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from getitdone.crypto import DecryptionError, EncryptedTextField, reencrypt, rewrite_stored


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (the webhook signing secrets) under the first key of "
        "FIELD_ENCRYPTION_KEYS, so that the keys after it can then be dropped. Values already under "
        "the first key are left as they are: it is safe to run again, and while the service runs."
    )

    def handle(self, *args, **options) -> None:
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, EncryptedTextField):
                    continue
                try:
                    with transaction.atomic():
                        changed = rewrite_stored(
                            connection, model._meta.db_table, field.column, reencrypt, pk=model._meta.pk.column
                        )
                except DecryptionError as exc:
                    raise CommandError(f"{model._meta.label}.{field.name}: {exc}") from exc
                self.stdout.write(f"{model._meta.label}.{field.name}: {changed} re-encrypted")
