"""Progress reporting: pure code takes a plain callback; the CLI turns it into a Rich progress bar."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Protocol


class ProgressCallback(Protocol):
    def __call__(self, done: int, total: int | None = None, description: str | None = None) -> None: ...


def no_progress(done: int, total: int | None = None, description: str | None = None) -> None:
    """The default callback: report nothing."""


@contextlib.contextmanager
def progress_bar(description: str, total: int | None = None, quiet: bool = False) -> Iterator[ProgressCallback]:
    """A Rich progress bar on stderr, handed out as a ProgressCallback (silent when quiet). When the work
    inside fails, the bar is erased before the exception leaves, so the CLI's one-line error stands alone."""
    if quiet:
        yield no_progress
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    columns = [SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    # results go to stdout while the bar draws on stderr: no stdout/stderr redirection by the live display
    # (it would outlive a failed run in-process and swallow later output)
    with Progress(*columns, console=Console(stderr=True), transient=False, redirect_stdout=False,
                  redirect_stderr=False) as bar:
        task = bar.add_task(description, total=total)

        def update(done: int, total_: int | None = None, description_: str | None = None) -> None:
            kwargs = {"completed": done}
            if total_ is not None:
                kwargs["total"] = total_
            if description_ is not None:
                kwargs["description"] = description_
            bar.update(task, **kwargs)

        try:
            yield update
        except BaseException:
            bar.live.transient = True   # a failed run erases its bar (terminal) or never prints it (file),
            bar.live.stop()
            bar.disable = True          # and Progress.stop adds no blank line: the error line stands alone
            raise


Callback = Callable[..., None]
