from celery import shared_task

from orders.services import issues_apply_step_timeouts


@shared_task(name="orders.apply_step_timeouts", ignore_result=True)
def apply_step_timeouts() -> int:
    return issues_apply_step_timeouts()
