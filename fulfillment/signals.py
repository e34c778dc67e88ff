"""Any change to a workflow's steps or transitions gives the workflow a new revision, so every
process drops its cached graph of it (see `selectors.workflow_graph`)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from fulfillment.models import Step, Transition, Workflow, new_revision


@receiver([post_save, post_delete], sender=Step)
@receiver([post_save, post_delete], sender=Transition)
def bump_workflow_revision(sender: type, instance: Step | Transition, **kwargs: object) -> None:
    Workflow.objects.filter(pk=instance.workflow_id).update(revision=new_revision())
