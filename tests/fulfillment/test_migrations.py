"""The migration that adds drafts: workflows made before it stay offered to integrators."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from fulfillment.models import Workflow
from fulfillment.selectors import workflow_for
from tests.factories import IntegratorFactory

BEFORE = ("fulfillment", "0003_encrypt_webhook_secret")


@pytest.mark.django_db(transaction=True)
def test_workflows_made_before_drafts_existed_stay_offered():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    apps = executor.loader.project_state([BEFORE]).apps
    old_workflow = apps.get_model("fulfillment", "Workflow")
    old_step = apps.get_model("fulfillment", "Step")
    workflow = old_workflow.objects.create(code="legacy", name="Legacy")
    start = old_step.objects.create(workflow=workflow, name="Start", value="START")
    workflow.initial_step = start
    workflow.save()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    migrated = Workflow.objects.get(code="legacy")
    assert (migrated.draft, migrated.checks_passed) == (False, True)
    assert workflow_for(IntegratorFactory(), "legacy") == migrated
