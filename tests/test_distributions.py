"""Duration distributions: closed-form means, sampling, length-biased residuals, validation.

Statistical checks use n = 200,000 draws with a fixed seed and accept the sample
mean when it lies within a 99.9% confidence interval built from the *sample*
standard deviation: |mean - expected| <= 3.29 * s / sqrt(n). No hand-picked
tolerances.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from d2asim.scenario.distributions import (
    DISTRIBUTION_TYPES,
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    Mixture,
    Weibull,
)

N = 200_000
Z_999 = 3.29  # two-sided 99.9% normal quantile
SEED = 20250401
P_MIN = 0.001  # significance level of the distributional (KS) checks, matching 99.9%

DIST = TypeAdapter(Distribution)


def spec(**fields: object):
    """Validate a YAML-style mapping the way a scenario file would."""
    return DIST.validate_python(fields)


def assert_mean_in_ci(draws: np.ndarray, expected: float, what: str = "sample mean", extra_se: float = 0.0) -> None:
    """Sample mean within the 99.9% CI from the sample standard deviation:
    |mean - expected| <= 3.29 * sqrt(s^2 / n + extra_se^2). ``extra_se`` is a derived
    standard error of a second, independent noise source (see the generic path)."""
    assert draws.shape == (N,)
    assert np.all(np.isfinite(draws)) and np.all(draws >= 0), "durations must be finite and >= 0"
    mean = float(draws.mean())
    s = float(draws.std(ddof=1))
    se = math.sqrt(s**2 / len(draws) + extra_se**2)
    assert abs(mean - expected) <= Z_999 * se, (
        f"{what} {mean:.5g} outside 99.9% CI of expected {expected:.5g} "
        f"(half-width {Z_999 * se:.3g}, z = {(mean - expected) / se:.2f})"
    )


# ---- closed forms (written out independently of the implementation) -------------
# Each case gives its raw moments E[X^r] in closed form.


def lognormal_from_mean_sd(mean: float, sd: float) -> tuple[float, float]:
    sigma2 = math.log(1.0 + (sd / mean) ** 2)
    return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)


def lognormal_moment(mu: float, sigma: float):
    return lambda r: math.exp(r * mu + r * r * sigma**2 / 2.0)


def gamma_moment(k: float, theta: float):
    return lambda r: theta**r * math.gamma(k + r) / math.gamma(k)


def weibull_moment(k: float, lam: float):
    return lambda r: lam**r * math.gamma(1.0 + r / k)


def exponential_moment(m: float):
    return lambda r: math.factorial(r) * m**r


def fixed_moment(v: float):
    return lambda r: v**r


def empirical_moment(values: list[float]):
    return lambda r: sum(v**r for v in values) / len(values)


def mixture_moment(parts: list[tuple[float, object]]):
    return lambda r: sum(w * m(r) for w, m in parts)  # type: ignore[operator]


EMPIRICAL_VALUES = [0.5, 1.0, 2.0, 2.0, 3.0, 5.0, 8.0, 13.0, 30.0]
IPACS_SIGMA = math.sqrt(2.0 * (math.log(15.0) - math.log(7.0)))

# id, spec fields, expected class, raw moment r -> E[X^r] from the closed form
CASES = [
    (
        "lognormal_mean_sd",
        {"type": "lognormal", "mean": 6.0, "sd": 5.0},
        Lognormal,
        lognormal_moment(*lognormal_from_mean_sd(6.0, 5.0)),
    ),
    (
        "lognormal_median_mean",
        {"type": "lognormal", "median": 7.0, "mean": 15.0},
        Lognormal,
        lognormal_moment(math.log(7.0), IPACS_SIGMA),
    ),
    ("lognormal_mu_sigma", {"type": "lognormal", "mu": 1.2, "sigma": 0.8}, Lognormal, lognormal_moment(1.2, 0.8)),
    (
        "gamma_mean_sd",
        {"type": "gamma", "mean": 21.0, "sd": 10.0},
        Gamma,
        gamma_moment((21.0 / 10.0) ** 2, 10.0**2 / 21.0),
    ),
    ("gamma_shape_scale", {"type": "gamma", "shape": 0.7, "scale": 4.0}, Gamma, gamma_moment(0.7, 4.0)),
    ("weibull", {"type": "weibull", "shape": 1.5, "scale": 30.0}, Weibull, weibull_moment(1.5, 30.0)),
    ("exponential", {"type": "exponential", "mean": 14.0}, Exponential, exponential_moment(14.0)),
    ("fixed", {"type": "fixed", "value": 3.5}, Fixed, fixed_moment(3.5)),
    (
        "empirical",
        {"type": "empirical", "values": EMPIRICAL_VALUES},
        Empirical,
        empirical_moment(EMPIRICAL_VALUES),
    ),    (
        "mixture",
        {"type": "mixture", "weights": {"same_day": 0.9, "multi_day": 0.1},
         "components": {"same_day": {"type": "lognormal", "mean": 0.25, "sd": 0.12},
                        "multi_day": {"type": "gamma", "mean": 6.0, "sd": 8.0}}},
        Mixture,
        mixture_moment([(0.9, lognormal_moment(*lognormal_from_mean_sd(0.25, 0.12))),
                        (0.1, gamma_moment((6.0 / 8.0) ** 2, 8.0**2 / 6.0))]),
    ),
]
IDS = [c[0] for c in CASES]
GENERIC = ("weibull", "empirical", "mixture")  # no closed-form length-biased override: resampling path
GENERIC_POOL = 20 * N  # pool size _Spec.length_biased draws for n = N


def pool_sd_of_length_biased_mean(moment) -> float:
    """Standard deviation of the generic path's own estimate of E[X^2]/E[X].

    The generic path resamples n values from a pool of ``GENERIC_POOL`` draws with
    weights x / sum(x), so the mean of its output is centred on the pool ratio
    sum(x^2) / sum(x), not on the true E[X^2] / E[X]. By the delta method that ratio
    has variance Var(X^2 - m X) / (N_pool E[X]^2), with m = E[X^2] / E[X] and
    Var(X^2 - m X) = E[X^4] - 2 m E[X^3] + m^2 E[X^2] (its mean is 0). This extra
    term is added to the CI; it is derived, not tuned.
    """
    ex = moment(1)
    m = moment(2) / ex
    var = moment(4) - 2.0 * m * moment(3) + m * m * moment(2)
    return math.sqrt(var / GENERIC_POOL) / ex


def test_cases_cover_every_distribution_type():
    assert {c[1]["type"] for c in CASES} == set(DISTRIBUTION_TYPES)


@pytest.mark.parametrize(("name", "fields", "cls", "moment"), CASES, ids=IDS)
def test_spec_parses_to_its_class(name, fields, cls, moment):
    dist = spec(**fields)
    assert type(dist) is cls
    with pytest.raises(ValidationError):  # specs are frozen
        dist.type = "fixed"


@pytest.mark.parametrize(("name", "fields", "cls", "moment"), CASES, ids=IDS)
def test_mean_matches_closed_form(name, fields, cls, moment):
    assert spec(**fields).mean() == pytest.approx(moment(1), rel=1e-12)


@pytest.mark.parametrize(("name", "fields", "cls", "moment"), CASES, ids=IDS)
def test_sample_mean_within_999_ci(name, fields, cls, moment):
    dist = spec(**fields)
    draws = dist.sample(np.random.default_rng(SEED), N)
    if name == "fixed":  # degenerate: every draw is the value
        assert np.all(draws == fields["value"])
        return
    assert_mean_in_ci(draws, moment(1))


@pytest.mark.parametrize(("name", "fields", "cls", "moment"), CASES, ids=IDS)
def test_sampling_is_reproducible_with_a_seed(name, fields, cls, moment):
    dist = spec(**fields)
    a = dist.sample(np.random.default_rng(7), 1000)
    b = dist.sample(np.random.default_rng(7), 1000)
    np.testing.assert_array_equal(a, b)


# ---- residual time of stays in progress ------------------------------------------


@pytest.mark.parametrize(("name", "fields", "cls", "moment"), CASES, ids=IDS)
def test_residual_mean_is_equilibrium_mean(name, fields, cls, moment):
    """Remaining time of a stay in progress has mean E[X^2] / (2 E[X]).

    Lognormal, gamma, exponential and fixed use exact length-biased overrides;
    weibull and empirical use the generic resampling path.
    """
    dist = spec(**fields)
    residual = dist.residual(np.random.default_rng(SEED + 1), N)
    # residual = U * X*, so the pool's error in E[X*] is halved
    extra = pool_sd_of_length_biased_mean(moment) / 2.0 if name in GENERIC else 0.0
    assert_mean_in_ci(residual, moment(2) / (2.0 * moment(1)), "residual mean", extra)


@pytest.mark.parametrize(
    ("name", "fields", "cls", "moment"),
    [c for c in CASES if c[0] in GENERIC],
    ids=list(GENERIC),
)
def test_generic_path_is_what_weibull_and_empirical_use(name, fields, cls, moment):
    """Guard: these two must not silently get an (untested) override."""
    from d2asim.scenario.distributions import _Spec

    assert cls.length_biased is _Spec.length_biased


@pytest.mark.parametrize(
    ("name", "fields", "cls", "moment"),
    [c for c in CASES if c[0] not in ("fixed",)],
    ids=[i for i in IDS if i != "fixed"],
)
def test_length_biased_mean(name, fields, cls, moment):
    """Length-biased stays X* (density x f(x) / E[X]) have mean E[X^2] / E[X]."""
    draws = spec(**fields).length_biased(np.random.default_rng(SEED + 2), N)
    extra = pool_sd_of_length_biased_mean(moment) if name in GENERIC else 0.0
    assert_mean_in_ci(draws, moment(2) / moment(1), "length-biased mean", extra)


def test_exponential_residual_is_exponential_with_same_mean():
    """Memoryless: the remaining time of an exponential stay is again Exp(mean)."""
    mean = 14.0
    residual = spec(type="exponential", mean=mean).residual(np.random.default_rng(SEED + 3), N)
    assert_mean_in_ci(residual, mean, "exponential residual mean")
    ks = stats.kstest(residual, stats.expon(scale=mean).cdf)
    assert ks.pvalue > P_MIN, f"residual is not Exp({mean}): KS D={ks.statistic:.4g}, p={ks.pvalue:.3g}"


def test_lognormal_length_biased_is_lognormal_shifted_by_sigma_squared():
    """x f(x) / E[X] for lognormal(mu, sigma) is lognormal(mu + sigma^2, sigma)."""
    mu, sigma = 1.2, 0.8
    draws = spec(type="lognormal", mu=mu, sigma=sigma).length_biased(np.random.default_rng(SEED + 4), N)
    ks = stats.kstest(draws, stats.lognorm(s=sigma, scale=math.exp(mu + sigma**2)).cdf)
    assert ks.pvalue > P_MIN, f"KS D={ks.statistic:.4g}, p={ks.pvalue:.3g}"


def test_weibull_residual_distribution_is_equilibrium():
    """Generic path: the residual has density (1 - F(x)) / E[X], so its CDF is
    G(x) = (1/E[X]) * integral_0^x S(t) dt; check the whole distribution by KS."""
    k, lam = 1.5, 30.0
    dist = spec(type="weibull", shape=k, scale=lam)
    mean = dist.mean()

    def equilibrium_cdf(x: np.ndarray) -> np.ndarray:
        # integral_0^x exp(-(t/lam)^k) dt = (lam / k) * lower_gamma(1/k, (x/lam)^k)
        x = np.asarray(x, dtype=float)
        a = 1.0 / k
        return lam / k * math.gamma(a) * stats.gamma(a).cdf((x / lam) ** k) / mean

    residual = dist.residual(np.random.default_rng(SEED + 5), 20_000)
    ks = stats.kstest(residual, equilibrium_cdf)
    assert ks.pvalue > P_MIN, f"KS D={ks.statistic:.4g}, p={ks.pvalue:.3g}"


def test_fixed_residual_is_uniform_over_the_stay():
    residual = spec(type="fixed", value=4.0).residual(np.random.default_rng(SEED + 6), N)
    assert residual.min() >= 0 and residual.max() <= 4.0
    ks = stats.kstest(residual, stats.uniform(0, 4.0).cdf)
    assert ks.pvalue > P_MIN


def test_empirical_samples_only_observed_values():
    draws = spec(type="empirical", values=EMPIRICAL_VALUES).sample(np.random.default_rng(SEED), N)
    assert set(np.unique(draws)) == set(EMPIRICAL_VALUES)
    lb = spec(type="empirical", values=EMPIRICAL_VALUES).length_biased(np.random.default_rng(SEED), 1000)
    assert set(np.unique(lb)) <= set(EMPIRICAL_VALUES)


# ---- parameterisations -----------------------------------------------------------


def test_lognormal_ipacs_example_median_7_mean_15():
    """IPACS: mu = ln(median), sigma = sqrt(2 (ln mean - mu))."""
    dist = spec(type="lognormal", median=7, mean=15)
    mu, sigma = dist.log_params()
    assert mu == pytest.approx(math.log(7), rel=1e-12)
    assert sigma == pytest.approx(math.sqrt(2 * math.log(15 / 7)), rel=1e-12)
    assert dist.mean() == pytest.approx(15.0, rel=1e-12)
    draws = dist.sample(np.random.default_rng(SEED + 7), N)
    assert_mean_in_ci(draws, 15.0)
    # the median is 7: the share of draws below 7 is 1/2 within a 99.9% binomial CI
    below = float(np.mean(draws < 7.0))
    assert abs(below - 0.5) <= Z_999 * math.sqrt(0.25 / N), f"P(X < 7) = {below}"


def test_lognormal_mean_sd_reproduces_mean_and_sd():
    mu, sigma = spec(type="lognormal", mean=6, sd=5).log_params()
    mean = math.exp(mu + sigma**2 / 2)
    var = (math.exp(sigma**2) - 1) * math.exp(2 * mu + sigma**2)
    assert mean == pytest.approx(6.0, rel=1e-12)
    assert math.sqrt(var) == pytest.approx(5.0, rel=1e-12)


def test_lognormal_mu_sigma_passes_through():
    assert spec(type="lognormal", mu=1.2, sigma=0.8).log_params() == (1.2, 0.8)


def test_gamma_mean_sd_reproduces_mean_and_sd():
    k, theta = spec(type="gamma", mean=21, sd=10).shape_scale()
    assert k * theta == pytest.approx(21.0, rel=1e-12)
    assert math.sqrt(k) * theta == pytest.approx(10.0, rel=1e-12)
    assert spec(type="gamma", shape=0.7, scale=4).shape_scale() == (0.7, 4.0)


def test_mean_alias_and_field_name_both_accepted():
    assert Lognormal(type="lognormal", mean=6, sd=5) == Lognormal(type="lognormal", mean_days=6, sd=5)
    assert Exponential(type="exponential", mean=3).mean() == 3


# ---- invalid specs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"type": "lognormal", "mean": 6, "sd": 5, "median": 4}, "exactly one of"),
        ({"type": "lognormal", "mean": 6}, "exactly one of"),
        ({"type": "lognormal", "sd": 5, "mu": 1}, "exactly one of"),
        ({"type": "lognormal", "median": 7, "mean": 7}, "mean must exceed median"),
        ({"type": "lognormal", "median": 9, "mean": 7}, "mean must exceed median"),
        ({"type": "lognormal", "mean": 6, "sd": -5}, "greater than 0"),
        ({"type": "lognormal", "mean": 6, "sd": 0}, "greater than 0"),
        ({"type": "lognormal", "mu": 1, "sigma": -0.5}, "greater than 0"),
        ({"type": "gamma", "mean": 6, "sd": -1}, "greater than 0"),
        ({"type": "gamma", "mean": 6, "shape": 2}, "exactly one of"),
        ({"type": "weibull", "shape": 0, "scale": 3}, "greater than or equal to 0.05"),
        ({"type": "weibull", "shape": 1.5}, "Field required"),
        ({"type": "exponential", "mean": -2}, "greater than 0"),
        ({"type": "fixed", "value": -1}, "greater than or equal to 0"),
        ({"type": "empirical", "values": []}, "at least 1 item"),
        ({"type": "empirical"}, "give values"),
        ({"type": "empirical", "values": [1, -2]}, "greater than or equal to 0"),
        ({"type": "lognormal", "mean": 6, "sd": 5, "shape": 2}, "Extra inputs"),
        ({"type": "mixture", "weights": {"a": 0.5, "b": 0.4},
          "components": {"a": {"type": "fixed", "value": 1}, "b": {"type": "fixed", "value": 2}}}, "sum to 1"),
        ({"type": "mixture", "weights": {"a": 1.0},
          "components": {"b": {"type": "fixed", "value": 1}}}, "must name the same components"),
        ({"type": "mixture", "weights": {"a": 1.0}, "components": {"a": {
            "type": "mixture", "weights": {"x": 1.0}, "components": {"x": {"type": "fixed", "value": 1}}}}},
         "does not match any of the expected tags"),
        ({"type": "triangular", "mode": 3}, "does not match any of the expected tags"),
        ({"mean": 3}, "Unable to extract tag"),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={v[k]}" for k in v),
)
def test_invalid_spec_raises_validation_error(fields, fragment):
    with pytest.raises(ValidationError) as info:
        spec(**fields)
    assert fragment in str(info.value)


def test_lognormal_class_rejects_mean_sd_median_directly():
    with pytest.raises(ValidationError):
        Lognormal(type="lognormal", mean=6, sd=5, median=4)


def test_mixture_draws_each_component_with_its_weight():
    """Two fixed components: the share of draws equal to the first is binomial(n, 0.3)."""
    dist = spec(type="mixture", weights={"short": 0.3, "long": 0.7},
                components={"short": {"type": "fixed", "value": 1.0}, "long": {"type": "fixed", "value": 9.0}})
    draws = dist.sample(np.random.default_rng(SEED), N)
    assert set(np.unique(draws)) == {1.0, 9.0}
    share = float((draws == 1.0).mean())
    assert abs(share - 0.3) <= Z_999 * math.sqrt(0.3 * 0.7 / N)


def test_scaling_a_mixture_scales_each_component_and_keeps_the_weights():
    from d2asim.calibration.simfit import scale_distribution

    fields = {"type": "mixture", "weights": {"a": 0.9, "b": 0.1},
              "components": {"a": {"type": "lognormal", "mean": 0.25, "sd": 0.12},
                             "b": {"type": "exponential", "mean": 6.0}}}
    scaled = scale_distribution(fields, 2.0)
    assert scaled["weights"] == fields["weights"]
    assert spec(**scaled).mean() == pytest.approx(2.0 * spec(**fields).mean(), rel=1e-9)
