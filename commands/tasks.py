from celery import shared_task

from commands.services import command_run, commands_run_for_issue, commands_sweep, idempotency_prune


@shared_task(name="commands.run", ignore_result=True)
def run_command(command_pk: int) -> str:
    return command_run(command_pk)


@shared_task(name="commands.run_issue", ignore_result=True)
def run_issue(integrator_id: int, issue_key: str) -> int:
    return commands_run_for_issue(integrator_id, issue_key)


@shared_task(name="commands.sweep", ignore_result=True)
def sweep_commands() -> int:
    return commands_sweep()


@shared_task(name="commands.prune_idempotency_keys", ignore_result=True)
def prune_idempotency_keys() -> int:
    return idempotency_prune()
