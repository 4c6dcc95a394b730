"""Duration distributions as YAML-friendly specs (``{type: lognormal, mean: 6, sd: 5}``).

Every distribution samples in **days** and exposes its mean so that reports and
tests can compare simulated against configured values. All specs are frozen
pydantic models; ``Distribution`` is the discriminated union used in scenarios.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from d2asim.scenario.limits import (
    MAX_DAYS,
    QUANTILE,
    Days,
    EmpiricalValues,
    GammaShape,
    PositiveDays,
    WeibullShape,
)

_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
_ALIASED = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)
_Z = 3.090232306167813  # standard normal quantile at QUANTILE (0.999)
_LOG_MAX_DAYS = math.log(MAX_DAYS)


class _Spec(BaseModel):
    model_config = _STRICT

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (days)."""
        raise NotImplementedError

    def mean(self) -> float:
        """Expected value (days)."""
        raise NotImplementedError

    def log_bounds(self) -> dict[str, float]:
        """Natural logs of the mean, the ``QUANTILE`` (99.9th) percentile of a stay and
        that of a stay in progress (length-biased, as drawn for the initial state), in
        log days so that no parameter can overflow them (``-inf`` for a zero stay)."""
        raise NotImplementedError

    def length_biased(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values from the length-biased density ``x f(x) / E[X]``.

        Used for stays in progress at a point in time (the inspection paradox).
        The generic method resamples a large draw with weights proportional to
        its values; subclasses with a closed form override it.
        """
        pool = self.sample(rng, max(20_000, 20 * n))
        total = pool.sum()
        if total <= 0:
            return np.zeros(n)
        return rng.choice(pool, size=n, p=pool / total)

    def residual(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Remaining time (days) of stays in progress at a random time.

        A stay observed in progress is length-biased, and the observation point
        is uniform within it, so the remaining time is ``U * X*`` with ``X*``
        length-biased: the equilibrium residual density ``(1 - F(x)) / E[X]``.
        """
        return rng.random(n) * self.length_biased(rng, n)


class Lognormal(_Spec):
    """Lognormal stay. Give ``mean`` and ``sd``, or ``median`` and ``mean`` (as IPACS
    does: mu = ln(median), sigma = sqrt(2 (ln mean - mu))), or ``mu`` and ``sigma``."""

    type: Literal["lognormal"]
    mean_days: PositiveDays | None = Field(None, alias="mean", description="mean, days")
    sd: PositiveDays | None = Field(None, description="standard deviation, days")
    median: PositiveDays | None = Field(None, description="median, days")
    mu: float | None = Field(None, description="log-scale location")
    sigma: PositiveFloat | None = Field(None, description="log-scale shape")

    model_config = _ALIASED

    @model_validator(mode="after")
    def _one_parameterisation(self) -> Lognormal:
        given = {k for k in ("mean_days", "sd", "median", "mu", "sigma") if getattr(self, k) is not None}
        allowed = [{"mean_days", "sd"}, {"median", "mean_days"}, {"mu", "sigma"}]
        if given not in allowed:
            raise ValueError("give exactly one of: mean+sd, median+mean, mu+sigma")
        if given == {"median", "mean_days"} and self.mean_days <= self.median:  # type: ignore[operator]
            raise ValueError(f"mean must exceed median (got median {self.median}, mean {self.mean_days})")
        return self

    def log_params(self) -> tuple[float, float]:
        """(mu, sigma) on the log scale."""
        if self.mu is not None and self.sigma is not None:
            return self.mu, self.sigma
        if self.median is not None and self.mean_days is not None:
            mu = math.log(self.median)
            return mu, math.sqrt(2.0 * (math.log(self.mean_days) - mu))
        assert self.mean_days is not None and self.sd is not None
        s2 = 2.0 * math.log(math.hypot(1.0, self.sd / self.mean_days))  # ln(1 + cv^2), no overflow
        return math.log(self.mean_days) - s2 / 2.0, math.sqrt(s2)

    def log_bounds(self) -> dict[str, float]:
        mu, sigma = self.log_params()
        return {"mean": mu + sigma**2 / 2.0, "percentile": mu + _Z * sigma,
                "in_progress_percentile": mu + sigma**2 + _Z * sigma}

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        mu, sigma = self.log_params()
        return rng.lognormal(mu, sigma, n)

    def mean(self) -> float:
        mu, sigma = self.log_params()
        return math.exp(mu + sigma**2 / 2.0)

    def length_biased(self, rng: np.random.Generator, n: int) -> np.ndarray:
        mu, sigma = self.log_params()
        return rng.lognormal(mu + sigma**2, sigma, n)


class Gamma(_Spec):
    """Gamma stay, by ``mean`` and ``sd`` or by ``shape`` and ``scale`` (days)."""

    type: Literal["gamma"]
    mean_days: PositiveDays | None = Field(None, alias="mean", description="mean, days")
    sd: PositiveDays | None = Field(None, description="standard deviation, days")
    shape: GammaShape | None = None
    scale: PositiveDays | None = Field(None, description="scale, days")

    model_config = _ALIASED

    @model_validator(mode="after")
    def _one_parameterisation(self) -> Gamma:
        given = {k for k in ("mean_days", "sd", "shape", "scale") if getattr(self, k) is not None}
        if given not in ({"mean_days", "sd"}, {"shape", "scale"}):
            raise ValueError("give exactly one of: mean+sd, shape+scale")
        return self

    def shape_scale(self) -> tuple[float, float]:
        if self.shape is not None and self.scale is not None:
            return self.shape, self.scale
        assert self.mean_days is not None and self.sd is not None
        return (self.mean_days / self.sd) ** 2, self.sd**2 / self.mean_days

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        k, theta = self.shape_scale()
        return rng.gamma(k, theta, n)

    def mean(self) -> float:
        k, theta = self.shape_scale()
        return k * theta

    def log_bounds(self) -> dict[str, float]:
        k, theta = self.shape_scale()
        return {"mean": math.log(k) + math.log(theta), "percentile": _log_gamma_quantile(k, theta),
                "in_progress_percentile": _log_gamma_quantile(k + 1.0, theta)}

    def length_biased(self, rng: np.random.Generator, n: int) -> np.ndarray:
        k, theta = self.shape_scale()
        return rng.gamma(k + 1.0, theta, n)


class Weibull(_Spec):
    """Weibull stay with ``shape`` k and ``scale`` lambda (days)."""

    type: Literal["weibull"]
    shape: WeibullShape
    scale: PositiveDays = Field(description="scale, days")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.scale * rng.weibull(self.shape, n)

    def mean(self) -> float:
        return self.scale * math.gamma(1.0 + 1.0 / self.shape)

    def log_bounds(self) -> dict[str, float]:
        # (X / scale)^shape is Exp(1); length-biased, it is Gamma(1 + 1/shape, 1)
        k, log_scale = self.shape, math.log(self.scale)
        return {"mean": log_scale + math.lgamma(1.0 + 1.0 / k),
                "percentile": log_scale + math.log(-math.log1p(-QUANTILE)) / k,
                "in_progress_percentile": log_scale + _log_gamma_quantile(1.0 + 1.0 / k, 1.0) / k}


class Exponential(_Spec):
    """Exponential stay with the given ``mean`` (days)."""

    type: Literal["exponential"]
    mean_days: PositiveDays = Field(alias="mean", description="mean, days")

    model_config = _ALIASED

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_days, n)

    def mean(self) -> float:
        return self.mean_days

    def log_bounds(self) -> dict[str, float]:
        return {"mean": math.log(self.mean_days), "percentile": _log_gamma_quantile(1.0, self.mean_days),
                "in_progress_percentile": _log_gamma_quantile(2.0, self.mean_days)}

    def length_biased(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(2.0, self.mean_days, n)


class Fixed(_Spec):
    """A fixed duration ``value`` (days)."""

    type: Literal["fixed"]
    value: Days = Field(description="days")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    def mean(self) -> float:
        return self.value

    def log_bounds(self) -> dict[str, float]:
        log_value = _log(self.value)
        return {"mean": log_value, "percentile": log_value, "in_progress_percentile": log_value}

    def length_biased(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class Empirical(_Spec):
    """Resample observed durations (days), given inline as ``values`` or read from a
    CSV ``csv`` (path relative to the scenario file) and ``column``. The loader fills
    ``values`` from the CSV so that a resolved scenario is self-contained."""

    type: Literal["empirical"]
    values: EmpiricalValues | None = Field(None, description="observed durations, days")
    csv: str | None = Field(None, description="CSV file, relative to the scenario file")
    column: str | None = Field(None, description="column of the CSV holding durations, days")

    @model_validator(mode="after")
    def _has_values(self) -> Empirical:
        if self.values is None:
            raise ValueError("give values: [..] or csv: FILE with column: NAME")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), size=n)

    def mean(self) -> float:
        assert self.values is not None  # set by the validator (from csv: when not given inline)
        return float(np.mean(self.values))

    def log_bounds(self) -> dict[str, float]:
        values = np.asarray(self.values, dtype=float)
        return {"mean": _log(float(values.mean())), "percentile": _log(float(np.quantile(values, QUANTILE))),
                "in_progress_percentile": _log(float(values.max()))}  # a length-biased draw is a value


def _log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


def _log_gamma_quantile(shape: float, scale: float) -> float:
    """Log of the ``QUANTILE`` percentile of Gamma(shape, scale)."""
    from scipy.special import gammaincinv  # imported here: `d2asim validate` stays quick

    return _log(float(gammaincinv(shape, QUANTILE))) + math.log(scale)


_BOUND_WORDS = {"mean": "mean", "percentile": "99.9th percentile",
                "in_progress_percentile": "99.9th percentile of a stay in progress (initial state)"}


def check_bounded(spec: _Spec) -> _Spec:
    """Reject a distribution whose mean or 99.9th percentile (of a stay, or of a stay in
    progress) exceeds ``MAX_DAYS``: its draws would overflow the calendar."""
    try:
        bounds = spec.log_bounds()
    except (OverflowError, ValueError, ZeroDivisionError):
        raise ValueError("the parameters are out of range: the mean and percentiles of a stay "
                         "cannot be computed (they overflow or underflow)") from None
    for key, log_value in bounds.items():
        if not log_value <= _LOG_MAX_DAYS:  # also catches nan
            shown = f"{math.exp(log_value):.4g}" if log_value < 700 else f"about 1e{log_value / math.log(10):.0f}"
            raise ValueError(f"the {_BOUND_WORDS[key]} is {shown} days, above the limit of "
                             f"{MAX_DAYS:,} days (100 years)")
    return spec


Component = Annotated[
    Lognormal | Gamma | Weibull | Exponential | Fixed | Empirical,
    Field(discriminator="type"),
    AfterValidator(check_bounded),
]
ComponentWeight = Annotated[float, Field(ge=0, le=1)]


class Mixture(_Spec):
    """A mixture of stays: each draw comes from one of the named ``components``, chosen
    with probability ``weights[name]`` (the weights sum to 1). E.g. most patients leave
    on the day they are ready and a few wait days for family, housing or equipment."""

    type: Literal["mixture"]
    weights: dict[str, ComponentWeight] = Field(description="probability of each component, summing to 1")
    components: dict[str, Component] = Field(description="the stay distribution of each component, days")

    @model_validator(mode="after")
    def _weights_match(self) -> Mixture:
        if set(self.weights) != set(self.components) or not self.components:
            raise ValueError(f"weights ({', '.join(self.weights) or 'none'}) and components "
                             f"({', '.join(self.components) or 'none'}) must name the same components")
        total = sum(self.weights.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1 (got {total:.6g})")
        return self

    def _parts(self) -> tuple[list[Component], np.ndarray]:
        names = list(self.components)
        weights = np.array([self.weights[n] for n in names])
        return [self.components[n] for n in names], weights / weights.sum()

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        parts, weights = self._parts()
        which = rng.choice(len(parts), size=n, p=weights)
        out = np.empty(n)
        for k, part in enumerate(parts):
            chosen = which == k
            out[chosen] = part.sample(rng, int(chosen.sum()))
        return out

    def mean(self) -> float:
        parts, weights = self._parts()
        return float(sum(w * part.mean() for part, w in zip(parts, weights, strict=True)))

    def log_bounds(self) -> dict[str, float]:
        # A mixture's quantile is at most its components' largest quantile at that level.
        used = [part.log_bounds() for part, w in zip(*self._parts(), strict=True) if w > 0]
        return {"mean": _log(self.mean()), "percentile": max(b["percentile"] for b in used),
                "in_progress_percentile": max(b["in_progress_percentile"] for b in used)}


Distribution = Annotated[
    Lognormal | Gamma | Weibull | Exponential | Fixed | Empirical | Mixture,
    Field(discriminator="type"),
    AfterValidator(check_bounded),
]
DISTRIBUTION_TYPES = ("lognormal", "gamma", "weibull", "exponential", "fixed", "empirical", "mixture")
