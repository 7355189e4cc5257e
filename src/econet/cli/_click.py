"""The click that Typer uses (recent Typer vendors its own copy as typer._click)."""

try:  # Typer >= 0.26 vendors click
    from typer import _click as click  # type: ignore[attr-defined]
    from typer._click import exceptions  # type: ignore[attr-defined]  # noqa: F401
except ImportError:  # pragma: no cover - older Typer
    import click  # type: ignore[no-redef]
    from click import exceptions  # type: ignore[no-redef]  # noqa: F401

__all__ = ["click", "exceptions"]
