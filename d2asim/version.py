"""The installed package's version, in a module of its own so that any module can read it
without importing :mod:`d2asim` (whose lazy notebook API imports most of the package)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("d2asim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
