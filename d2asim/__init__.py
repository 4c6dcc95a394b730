"""d2asim: discrete-event simulation of hospital discharge pathways in England."""

from d2asim.version import __version__

_API = ("run_replications", "compare", "sweep", "capacity_needed", "suggest_warmup", "load_scenario")
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> object:
    """The notebook API (:mod:`d2asim.api`), imported on first use so that the
    command line starts quickly."""
    if name in _API:
        from d2asim import api

        return getattr(api, name)
    raise AttributeError(f"module 'd2asim' has no attribute {name!r}")
