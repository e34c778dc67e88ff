"""Progress bars for long management commands (tqdm), on the command's stderr, so that stdout
stays the result a script can read. Off with --verbosity 0."""

from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm


def progress_bar(command: BaseCommand, *, total: int | None, unit: str, desc: str, verbosity: int) -> tqdm:
    # The OutputWrapper would end each of tqdm's carriage-return redraws with a newline.
    stream: Any = getattr(command.stderr, "_out", command.stderr)
    return tqdm(total=total, unit=f" {unit}", desc=desc, file=stream, disable=verbosity == 0, dynamic_ncols=True)
