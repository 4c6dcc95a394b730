"""The app's result tables, apart from Streamlit: the options side by side from
``comparison.csv`` (every scope), and the DTOC rate of each borough side by side."""

from __future__ import annotations

import pandas as pd

from d2asim.headline import distinguishable_words
from d2asim.metrics.registry import COMPARE_KEYS, describe

DTOC_RATE = "dtoc_rate_per_100k_adults"
BOROUGH_PREFIX = "borough:"


def comparison_rows(table: pd.DataFrame) -> pd.DataFrame:
    """One row per option, metric and scope: the paired difference (option − baseline)
    with its 95% CI and whether it is distinguishable from zero, in words."""
    known = [k for k in COMPARE_KEYS if k in set(table["metric"])]
    rows = []
    for r in table[table["metric"].isin(known)].to_dict("records"):
        m = describe(str(r["metric"]))
        rows.append({**({"scope": r["scope"]} if "scope" in r else {}), "option": r["option"], "metric": m.label,
                     "difference (option − baseline)": m.text(r["difference"], signed=True),
                     "95% CI": f"{m.text(r['ci_low'], True)} to {m.text(r['ci_high'], True)}",
                     "in words": distinguishable_words(bool(r["distinguishable"])), "unit": m.unit})
    return pd.DataFrame(rows)


def borough_dtoc_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The DTOC rate per 100,000 adults of each borough (the local-authority figure),
    baseline and option side by side with the paired difference; empty for a
    scenario without boroughs (no ``borough:`` scope in ``comparison.csv``)."""
    if "scope" not in table:
        return pd.DataFrame()
    rates = table[(table["metric"] == DTOC_RATE) & table["scope"].astype(str).str.startswith(BOROUGH_PREFIX)]
    m = describe(DTOC_RATE)
    return pd.DataFrame([{"borough": str(r["scope"]).removeprefix(BOROUGH_PREFIX), "option": r["option"],
                          "baseline": m.text(r["baseline"]), "option value": m.text(r["option_value"]),
                          "difference": m.text(r["difference"], signed=True),
                          "95% CI": f"{m.text(r['ci_low'], True)} to {m.text(r['ci_high'], True)}",
                          "in words": distinguishable_words(bool(r["distinguishable"]))}
                         for r in rates.to_dict("records")])
