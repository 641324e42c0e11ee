"""The one progress bar of training and of `surrogate build` (docs/architecture.md)."""

from __future__ import annotations

__all__ = ["progress_bar"]


def progress_bar(show: bool, **kwargs):
    """A tqdm bar with `kwargs`: Jupyter's widget where the kernel can draw one (ipywidgets
    installed), else a text bar; disabled when not `show`.  tqdm.auto alone would warn "IProgress
    not found" in every kernel without ipywidgets, even for a bar that is never shown."""
    from tqdm.std import tqdm as text_bar

    if not show:
        return text_bar(disable=True, **kwargs)
    try:
        import ipywidgets  # noqa: F401  (tqdm.auto's notebook bar needs it)
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = text_bar
    return tqdm(**kwargs)
