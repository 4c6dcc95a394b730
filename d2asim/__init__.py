"""d2asim: discrete-event simulation of hospital discharge pathways in England."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("d2asim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
