"""The d2asim web app (Streamlit): ``d2asim app`` serves this script.

Pages (sidebar): Home, Scenario (load and edit), Run, Compare options, Sweep and
capacity, Optimise. Each browser session has its own folder, scenario and jobs; runs happen
in worker processes (:mod:`d2asim.app.jobs`).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from d2asim.app import inputs, jobs, tables
from d2asim.app.inputs import Field, Loaded
from d2asim.headline import distinguishable_words, headline_rows
from d2asim.metrics.registry import SWEEP_KEYS, describe
from d2asim.scenario.errors import ScenarioError

PAGES = ("Home", "Scenario", "Run", "Compare options", "Sweep and capacity", "Optimise")
TOP_WORDS = ("delayed_bed_days", "dtoc_rate_per_100k_adults", "acute_occupancy_pct", "admission_wait_mean_hours",
             "cost_total_gbp")


def session_folder() -> Path:
    if "folder" not in st.session_state:
        st.session_state.folder = inputs.new_folder("session-")
    return Path(st.session_state.folder)


def show_errors(lines: list[str]) -> None:
    """Problems in the words of ``d2asim validate``: one line each."""
    st.error("\n\n".join(f"error: {line}" for line in lines), icon="⚠️")


def set_loaded(loaded: Loaded) -> None:
    for key in [k for k in st.session_state if str(k).startswith("field:")]:
        del st.session_state[key]
    st.session_state.edits, st.session_state.problems = {}, {}
    st.session_state.loaded = loaded


def loaded() -> Loaded | None:
    return st.session_state.get("loaded")


# ----------------------------------------------------------------------- home
def home_page() -> None:
    st.title("d2asim: discharge pathways, simulated")
    st.markdown(
        """
**What it models.** The journey of adult emergency and planned admissions through an acute
hospital: a bed (or a wait for one), treatment, the day a patient becomes **ready to leave**,
and from then on the wait for what they need next — Discharge to Assess pathway 0 (home),
1 (reablement at home), 2 (a bedded intermediate-care place) or 3 (a care-home bed) — and
where people go afterwards (home, long-term home care, a care home, back to hospital).
A patient waiting for a place **keeps their bed**, so a shortage downstream shows up as
delayed discharges (DTOC), full wards and people waiting for a bed. Every delayed day
carries a reason code and the organisation responsible.

**What it does not model.** Staff rosters, individual wards or specialties, A&E itself
(only the wait for a bed), money flows between organisations beyond the costs you enter,
and anything that the scenario file does not describe. It is as good as its inputs:
the bundled scenarios are a Whittington-like trust and Islington-like borough
(`baseline.yaml` and its options) and a North-Central-London-like system of two trusts and
three boroughs sharing bedded intermediate care (`ncl/baseline.yaml` and its options), with
every number sourced (see `scenarios/README.md`).

**How to read a result.** Each run is repeated (*replications*) with different random
patients. A figure such as *Delayed bed days 17,800 (95% CI 17,200 to 18,400)* is the
mean over replications; the **95% confidence interval** is the range that, by the usual
t-interval, holds the long-run mean with 95% confidence — more replications make it
narrower. When two options are compared they see **the same patients**, so the paired CI
of the difference is narrow; a difference is **distinguishable from zero** when its CI
does not include 0. A difference that is not distinguishable may still be real but too
small for this many replications to show.
"""
    )
    system_diagram()
    st.markdown(
        f"""
**Limits of this app** (use the command line beyond them): uploads up to
{inputs.MAX_UPLOAD_BYTES:,} bytes per file and {inputs.MAX_FILES} files; up to
{inputs.MAX_REPLICATIONS} replications; up to {inputs.MAX_SIMULATED_DAYS:,} simulated days
(warm-up + reported period); sweeps up to {inputs.MAX_SWEEP_POINTS} points; optimisations up to
{inputs.MAX_OPTIMISE_TRIALS} mixes in the search. An uploaded
scenario may only `extends:` a bundled scenario or a file uploaded with it (and its `csv:`
files likewise). Your files and results stay in your session's own folder on this server,
which is deleted when the server stops: download what you want to keep.
"""
    )


def system_diagram() -> None:
    """The diagram of the loaded scenario's system (trusts, boroughs, services, expected flows)."""
    current = loaded()
    if current is None:
        st.write("Load a scenario (page *Scenario*) to see the diagram of its system here.")
        return
    from d2asim.report.diagram import draw
    from d2asim.version import __version__

    folder = session_folder() / "diagram"
    folder.mkdir(exist_ok=True)
    footer = f"Scenario {current.scenario.name} · expected flows from the scenario · d2asim {__version__}"
    try:
        paths = draw(current.scenario, folder, footer)
    except ScenarioError as err:
        st.error("\n".join(err.lines))
        return
    st.image(str(paths["png"]), caption="The modelled system: expected people a day on each flow")


# ------------------------------------------------------------------- scenario
def load_section() -> None:
    folder = session_folder()
    left, right = st.columns(2)
    with left:
        st.subheader("A bundled scenario")
        names = inputs.bundled_scenarios()
        choice = st.selectbox("Bundled scenario", names, index=names.index("baseline.yaml"), key="bundled_choice")
        if st.button("Load bundled scenario", key="load_bundled") and choice is not None:
            try:
                set_loaded(inputs.load_bundled(folder, choice))
                st.session_state.load_errors = []
            except ScenarioError as exc:
                st.session_state.load_errors = exc.lines
    with right:
        st.subheader("Your own file")
        uploads = st.file_uploader("Scenario YAML or Excel workbook (and any files it extends or reads)",
                                   type=["yaml", "yml", "xlsx", "csv"], accept_multiple_files=True, key="uploads")
        scenario_files = [u.name for u in uploads or [] if u.name.lower().endswith(inputs.SCENARIO_SUFFIXES)]
        main = st.selectbox("The scenario to load", scenario_files, key="upload_main") if scenario_files else None
        if st.button("Load uploaded scenario", key="load_upload", disabled=main is None):
            files = {u.name: u.getvalue() for u in uploads or []}
            try:
                set_loaded(inputs.load_upload(folder / "uploads", files, str(main)))
                st.session_state.load_errors = []
            except ScenarioError as exc:
                st.session_state.load_errors = exc.lines
        if st.session_state.get("load_errors"):
            show_errors(st.session_state.load_errors)


def field_widget(field: Field, value: Any) -> Any:
    """A widget for one input showing ``value``; returns what it holds now (a
    ScenarioError for a list or mapping that cannot be read)."""
    key, label, hint = f"field:{field.path}", field.path, field.help()
    if field.widget == "toggle":
        return st.checkbox(label, value=bool(value), key=key, help=hint)
    if field.widget == "choice" and "d2a" in field.doc.allowed and len(field.doc.allowed) == 2:
        other = next(a for a in field.doc.allowed if a != "d2a")
        pathway = field.path.split(".")[2] if field.path.startswith("pathways.settings.") else field.path
        on = st.toggle(f"{pathway}: Discharge to Assess (off: {other})", value=value == "d2a", key=key, help=hint)
        return "d2a" if on else other
    if field.widget == "choice":
        options = list(field.doc.allowed)
        index = options.index(str(value)) if str(value) in options else 0
        return st.selectbox(label, options, index=index, key=key, help=hint)
    if field.widget == "whole":
        return int(st.number_input(label, value=int(value), step=1, key=key, help=hint))
    if field.widget == "number":
        return float(st.number_input(label, value=float(value), key=key, help=hint, format="%g"))
    return inputs.parse_text(field, st.text_input(label, value=inputs.shown_text(value), key=key, help=hint))


def edits() -> dict[str, Any]:
    """The session's form values that differ from the loaded scenario (path -> value)."""
    return st.session_state.setdefault("edits", {})


def edit_section(current: Loaded) -> None:
    fields = inputs.form_fields(current.data)
    problems: dict[str, list[str]] = st.session_state.get("problems", {})
    unreadable: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def render(field: Field) -> None:
        try:
            values[field.path] = field_widget(field, edits().get(field.path, field.value))
        except ScenarioError as exc:
            unreadable[field.path] = exc.lines
        for line in problems.get(field.path, []) + unreadable.get(field.path, []):
            st.error(f"error: {line}")

    st.subheader("Key levers")
    st.caption("Capacities and beds, arrivals per day, Discharge to Assess (assessment mode d2a) or on the ward, "
               "per pathway. Every other input is below, by block.")
    levers = [f for f in fields if inputs.is_lever(f)]
    columns = st.columns(3)
    for i, field in enumerate(levers):
        with columns[i % 3]:
            render(field)
    st.subheader("Every input")
    blocks: dict[str, list[Field]] = {}
    for field in fields:
        if not inputs.is_lever(field):
            blocks.setdefault(field.block, []).append(field)
    for block, members in blocks.items():
        with st.expander(f"{block} ({len(members)} inputs)"):
            for field in members:
                render(field)
    changed = inputs.changes(current.data, values)
    st.session_state.edits = changed
    _, found = inputs.validate_edits(current.data, changed)
    if found != problems:
        st.session_state.problems = found
        st.rerun()
    if found.get(""):
        show_errors(found[""])
    st.subheader("Changes from the loaded scenario")
    if not changed:
        st.write("None: the form holds the loaded scenario.")
        return
    base = {".".join(p): v for p, v in inputs.flatten(current.data)}
    st.dataframe(pd.DataFrame([{"input": k, "loaded": inputs.shown_text(base[k]), "now": inputs.shown_text(v)}
                               for k, v in changed.items()]), hide_index=True, key="changes_table")
    name = st.text_input("Option name", value=f"{current.scenario.name}_option", key="option_name")
    st.download_button("Download as an option file (extends: + only the changes)",
                       inputs.option_file(current.file_name, name, changed), file_name=f"{name}.yaml",
                       mime="text/yaml", key="download_option")


def scenario_page() -> None:
    st.title("Scenario")
    load_section()
    current = loaded()
    if current is None:
        st.write("Load a scenario to see and edit its inputs.")
        return
    st.success(f"Loaded scenario {current.scenario.name!r} from {current.file_name}.")
    edit_section(current)


def edited_scenario() -> Any:
    """The scenario the form holds now (None while the form has problems)."""
    current = loaded()
    if current is None:
        return None
    if not edits():
        return current.scenario
    return inputs.validate_edits(current.data, edits())[0]


# ------------------------------------------------------------------------ run
def reps_and_seed(prefix: str, scenario: Any) -> tuple[int, int]:
    left, right = st.columns(2)
    reps = left.number_input("Replications", 1, inputs.MAX_REPLICATIONS, min(10, inputs.MAX_REPLICATIONS), step=1,
                             key=f"{prefix}_reps", help=f"1 to {inputs.MAX_REPLICATIONS}")
    seed = right.number_input("Seed", 0, 2**31 - 1, int(scenario.run.seed), step=1, key=f"{prefix}_seed")
    return int(reps), int(seed)


@st.fragment(run_every=0.5)
def job_progress(slot: str) -> None:
    """The progress bar and cancel button of the session's job in ``slot``."""
    job: jobs.JobState | None = st.session_state.get(slot)
    if job is None:
        return
    if job.status != "running":  # finished since the last look: show the results
        st.rerun()
    words = job.note or f"{job.done} of {job.total or '?'} {unit(job)} finished"
    st.progress(job.fraction, text=words)
    if st.button("Cancel", key=f"{slot}_cancel"):
        job.cancel()
    if job.status != "running":
        st.rerun()


def unit(job: jobs.JobState) -> str:
    """What a job's progress counts: mixes simulated (optimise) or replications."""
    return "mixes simulated" if job.kind == "optimise" else "replications"


def start_job(slot: str, kind: str, scenarios: list[Any], seed: int, reps: int,
              settings: dict[str, Any] | None = None) -> None:
    problems = [p for s in scenarios for p in inputs.check_limits(s, reps)]
    if problems:
        show_errors(sorted(set(problems)))
        return
    st.session_state[slot] = jobs.start(kind, jobs.scenario_payload(*scenarios), seed, reps, settings)


def job_status(slot: str) -> jobs.JobState | None:
    job: jobs.JobState | None = st.session_state.get(slot)
    if job is None:
        return None
    if job.status == "running":
        job_progress(slot)
        return None
    if job.status == "cancelled":
        st.warning(f"Cancelled after {job.done} of {job.total} {unit(job)}.")
    elif job.status == "failed":
        show_errors(job.errors)
    elif job.cached:
        st.caption("From the cache: the same scenario, seed and replications were run before.")
    return job if job.status == "done" else None


def run_page() -> None:
    st.title("Run")
    scenario = edited_scenario()
    if scenario is None:
        st.write("Load a scenario (and fix any problem in the form) on the Scenario page first.")
        return
    st.write(f"Scenario **{scenario.name}**: {scenario.run.duration_days} days from {scenario.run.start_date} "
             f"after {scenario.run.warmup_days} warm-up days.")
    reps, seed = reps_and_seed("run", scenario)
    if st.button("Run", key="run_button", type="primary"):
        start_job("run_job", "run", [scenario], seed, reps)
    job = job_status("run_job")
    if job is not None and job.folder is not None:
        run_results(job.folder)


def sentence(key: str, entry: dict[str, Any]) -> str:
    m = describe(key)
    return (f"**{m.label}**: {m.text(entry['mean'])} {m.unit} on average (95% CI {m.text(entry['ci_low'])} "
            f"to {m.text(entry['ci_high'])})")


def run_results(folder: Path) -> None:
    summary = json.loads((folder / "summary.json").read_text())
    metrics = summary["metrics"]
    st.subheader("Headline results")
    st.write(f"{summary['replications']} replications, seed {summary['seed']}.")
    for key in TOP_WORDS:
        if key in metrics and metrics[key].get("mean") is not None:
            st.markdown(sentence(key, metrics[key]))
    rows = headline_rows(metrics)
    st.dataframe(pd.DataFrame(rows, columns=["Metric", "Mean", "95% CI", "Unit"]), hide_index=True,
                 key="headline_table")
    daily_chart(folder)
    for png in sorted((folder / "charts").glob("*.png")):
        st.image(str(png))
    downloads(folder, "run")


def daily_chart(folder: Path) -> None:
    """Acute beds occupied per day: mean and 5th-95th percentile band (hover for values)."""
    import plotly.graph_objects as go

    path = folder / "daily_summary.csv"
    if not path.is_file():
        return
    daily = pd.read_csv(path)
    if "reported" in daily.columns:
        daily = daily[daily["reported"].astype(str).str.lower().isin(("true", "1"))]
    column = "acute_occupied"
    if f"{column}_mean" not in daily.columns:
        return
    x = daily["date"] if "date" in daily.columns else daily.index
    fig = go.Figure([
        go.Scatter(x=x, y=daily[f"{column}_p95"], line={"width": 0}, showlegend=False, hoverinfo="skip"),
        go.Scatter(x=x, y=daily[f"{column}_p5"], fill="tonexty", line={"width": 0}, name="5th-95th percentile",
                   fillcolor="rgba(0,114,178,0.2)"),
        go.Scatter(x=x, y=daily[f"{column}_mean"], name="mean over replications", line={"color": "#0072B2"}),
    ])
    fig.update_layout(title="Acute beds occupied each day", yaxis_title="beds", height=360, margin={"t": 40})
    st.plotly_chart(fig, key=f"daily_{folder.name}")


def folder_zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "checkpoints" not in path.parts and path.name != "done.json":
                archive.write(path, Path(folder.name) / path.relative_to(folder))
    return buffer.getvalue()


def downloads(folder: Path, prefix: str) -> None:
    st.subheader("Downloads")
    columns = st.columns(5)
    files = (("report.html", "text/html"), ("report.md", "text/markdown"),
             ("tables.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    for column, (name, mime) in zip(columns, files, strict=False):
        if (folder / name).is_file():
            column.download_button(name, (folder / name).read_bytes(), file_name=name, mime=mime,
                                   key=f"{prefix}_dl_{name}")
    columns[3].download_button("run folder (.zip)", folder_zip(folder), file_name=f"{prefix}-folder.zip",
                               mime="application/zip", key=f"{prefix}_dl_zip")
    scenario = folder / "scenario.yaml"
    if scenario.is_file():
        columns[4].download_button("scenario.yaml", scenario.read_bytes(), file_name="scenario.yaml",
                                   mime="text/yaml", key=f"{prefix}_dl_scenario")


# -------------------------------------------------------------------- compare
def compare_page() -> None:
    st.title("Compare options")
    current, scenario = loaded(), edited_scenario()
    if current is None or scenario is None:
        st.write("Load a scenario on the Scenario page first (and fix any problem in the form): it is the baseline.")
        return
    st.write(f"Baseline: **{scenario.name}**, the scenario in the form"
             + (" (with your changes)." if edits() else ".")
             + " Each option below is the baseline with that option's own changes; all run on the same patients.")
    names = inputs.applicable_options(scenario, current.file_name)
    chosen = st.multiselect("Options (bundled option files: what each changes)", names, key="compare_bundled")
    reps, seed = reps_and_seed("compare", scenario)
    if st.button("Compare", key="compare_button", type="primary"):
        try:
            options = [inputs.with_option(scenario, inputs.option_layer(n), Path(n).stem)
                       for n in chosen]
        except ScenarioError as exc:
            show_errors(exc.lines)
            return
        if not options:
            show_errors(["compare: choose at least one option"])
        else:
            start_job("compare_job", "compare", [scenario, *options], seed, reps)
    job = job_status("compare_job")
    if job is not None and job.folder is not None:
        compare_results(job.folder)


def compare_results(folder: Path) -> None:
    table = pd.read_csv(folder / "comparison.csv")
    st.subheader("Options side by side (paired 95% CIs)")
    st.dataframe(tables.comparison_rows(table), hide_index=True, key="comparison_table")
    by_borough = tables.borough_dtoc_rows(table)
    if not by_borough.empty:
        st.subheader("DTOC rate per 100,000 adults, borough by borough")
        st.caption("Each borough's delayed transfers of care per day per 100,000 residents aged 18+ "
                   "(the local-authority figure), wherever its residents are in hospital.")
        st.dataframe(by_borough, hide_index=True, key="borough_dtoc_table")
    saved = table[table["metric"] == "bed_days_saved"]
    for r in saved.to_dict("records"):
        m = describe("bed_days_saved")
        st.markdown(f"**{r['option']}** saves {m.text(r['difference'])} acute bed days (95% CI "
                    f"{m.text(r['ci_low'])} to {m.text(r['ci_high'])}): "
                    f"{distinguishable_words(bool(r['distinguishable']))}.")
    for png in sorted((folder / "charts").glob("*.png")):
        st.image(str(png))
    downloads(folder, "compare")


# ---------------------------------------------------------- sweep / capacity
def sweep_page() -> None:
    st.title("Sweep and capacity")
    scenario = edited_scenario()
    if scenario is None:
        st.write("Load a scenario on the Scenario page first.")
        return
    numeric = capacity_fields(scenario)
    st.subheader("Sweep")
    field = st.selectbox("Input to vary", numeric, key="sweep_field")
    values_text = st.text_input("Values (comma-separated)", key="sweep_values", value="")
    reps, seed = reps_and_seed("sweep", scenario)
    if st.button("Run sweep", key="sweep_button"):
        try:
            values = [float(v) if "." in v else int(v) for v in values_text.replace(" ", "").split(",") if v]
        except ValueError:
            values = []
        if not values or len(values) > inputs.MAX_SWEEP_POINTS:
            show_errors([f"sweep: give 1 to {inputs.MAX_SWEEP_POINTS} numbers separated by commas"])
        else:
            start_job("sweep_job", "sweep", [scenario], seed, reps, {"grid": {field: values}})
    job = job_status("sweep_job")
    if job is not None and job.folder is not None and field is not None:
        sweep_results(job.folder, field)
    st.subheader("Capacity needed")
    services = list(scenario.services)
    service = st.selectbox("Service", services, key="cap_service")
    metric = st.selectbox("Target metric", list(SWEEP_KEYS), index=list(SWEEP_KEYS).index("dtoc_rate_per_100k_adults"),
                          key="cap_metric", format_func=lambda k: describe(k).label)
    value = st.number_input("At most", value=9.4, key="cap_value")
    creps, cseed = reps_and_seed("cap", scenario)
    if st.button("Find capacity", key="cap_button"):
        start_job("cap_job", "capacity", [scenario], cseed, creps,
                  {"service": service, "target": f"{metric}<={value:g}"})
    job = job_status("cap_job")
    if job is not None:
        answer = job.result.get("answer", {})
        st.write(f"Smallest capacity of {service} whose mean meets the target: **{answer.get('by_mean')}**; "
                 f"whose whole 95% CI meets it: **{answer.get('by_ci')}** (now {answer.get('current_capacity')}).")


def sweep_results(folder: Path, field: str) -> None:
    import plotly.graph_objects as go

    table = pd.read_csv(folder / "sweep.csv")
    for key in ("delayed_bed_days", "dtoc_rate_per_100k_adults"):
        if f"{key}_mean" not in table.columns or field not in table.columns:
            continue
        m = describe(key)
        fig = go.Figure([
            go.Scatter(x=table[field], y=table[f"{key}_ci_high"], line={"width": 0}, showlegend=False),
            go.Scatter(x=table[field], y=table[f"{key}_ci_low"], fill="tonexty", line={"width": 0}, name="95% CI"),
            go.Scatter(x=table[field], y=table[f"{key}_mean"], name="mean", mode="lines+markers"),
        ])
        fig.update_layout(title=m.label, xaxis_title=field, yaxis_title=m.unit, height=320)
        st.plotly_chart(fig, key=f"sweep_{key}_{folder.name}")
    st.dataframe(table, hide_index=True)
    downloads(folder, "sweep")


def capacity_fields(scenario: Any) -> list[str]:
    """The scenario's numeric capacity inputs (dotted paths; per-borough services by their own names)."""
    return [f.path for f in inputs.form_fields(inputs.scenario_to_dict(scenario))
            if f.widget in ("whole", "number") and f.path.split(".")[-1] in ("capacity", "beds", "per_day")]


# ------------------------------------------------------------------- optimise
def objective_keys() -> list[str]:
    """Objectives: the registry's metrics (not families) and total_cost."""
    from d2asim.experiments.optimise_space import TOTAL_COST
    from d2asim.metrics.registry import METRICS, is_family

    return [TOTAL_COST, *(k for k in METRICS if not is_family(k))]


def objective_label(key: str) -> str:
    from d2asim.experiments.optimise_space import metric_words

    return f"{metric_words(key)[0]} ({key})"


def variable_rows(scenario: Any, chosen: list[str]) -> list[str]:
    """LO, HI and STEP of each chosen field; the ``FIELD=LO:HI[:STEP]`` expressions
    (STEP 0: continuous)."""
    data = inputs.scenario_to_dict(scenario)
    values = {f.path: f.value for f in inputs.form_fields(data)}
    out = []
    for name in chosen:
        now = values[name]
        whole = isinstance(now, int)
        lo_col, hi_col, step_col = st.columns(3)
        kind: Any = int if whole else float
        lo = lo_col.number_input(f"{name}: LO", value=kind(now), key=f"opt_lo:{name}")
        hi = hi_col.number_input(f"{name}: HI", value=kind(now * 3 // 2 if whole else now * 1.5),
                                 key=f"opt_hi:{name}")
        step = step_col.number_input(f"{name}: STEP", value=kind(max(1, now // 10) if whole else 0.0),
                                     key=f"opt_step:{name}", help="0: any value between LO and HI")
        out.append(f"{name}={lo:g}:{hi:g}" + (f":{step:g}" if step else ""))
    return out


def optimise_page() -> None:
    from d2asim.experiments.optimise_space import annual_commissioning_cost
    from d2asim.report.optimise_report import money

    st.title("Optimise")
    scenario = edited_scenario()
    if scenario is None:
        st.write("Load a scenario on the Scenario page first (and fix any problem in the form).")
        return
    st.write("The best mix of capacities for an annual budget: a seeded search (Optuna TPE) on the same "
             "patients for every mix, then KN ranking and selection among the best; as `d2asim optimise`.")
    chosen = st.multiselect("Decision variables", capacity_fields(scenario), key="opt_fields")
    vary = variable_rows(scenario, chosen)
    current = annual_commissioning_cost(scenario)
    left, right = st.columns(2)
    budget = left.number_input("Annual budget (GBP/year)", min_value=0.0, value=float(round(current)), step=10_000.0,
                               key="opt_budget", help="most the mix may cost: annual commissioning cost of its "
                                                      "block-priced places")
    right.metric("The scenario's own mix costs", f"{money(current)} a year")
    keys = objective_keys()
    metric = st.selectbox("Objective", keys, index=keys.index("delayed_bed_days"), key="opt_metric",
                          format_func=objective_label)
    from d2asim.system.registry import registry_of

    registry = registry_of(scenario)
    scopes = ["system", *(f"trust:{t.name}" for t in registry.trusts),
              *(f"borough:{b.name}" for b in registry.modelled_boroughs)]
    scope = st.selectbox("Scope", scopes, key="opt_scope", help="the whole system, one trust or one borough")
    maximise = st.radio("Direction", ("minimise", "maximise"), horizontal=True, key="opt_direction") == "maximise"
    constraints_text = st.text_input("Constraints (optional, comma-separated, e.g. acute_occupancy_pct<=92)",
                                     key="opt_constraints", help="met when the whole 95% CI is on the allowed side")
    reps, seed = reps_and_seed("opt", scenario)
    left, mid, right = st.columns(3)
    trials = left.number_input("Trials (mixes to simulate)", 1, inputs.MAX_OPTIMISE_TRIALS,
                               min(20, inputs.MAX_OPTIMISE_TRIALS), step=1, key="opt_trials")
    delta = mid.number_input("δ, indifference zone (0: 1% of the best mean)", min_value=0.0, value=0.0,
                             key="opt_delta", help="in the objective's units")
    fill = right.toggle("Fill the budget (more of a variable never worse)", key="opt_fill")
    if st.button("Optimise", key="opt_button", type="primary"):
        objective = metric if scope == "system" else f"{metric}@{scope}"
        settings = {"vary": vary, "budget": float(budget), "objective": objective, "maximise": maximise,
                    "constraints": [c.strip() for c in constraints_text.split(",") if c.strip()],
                    "trials": int(trials), "delta": float(delta) or None, "fill_budget": bool(fill)}
        try:
            jobs.optimise_request(scenario, settings, reps, seed)
        except ScenarioError as exc:
            st.session_state.pop("opt_job", None)
            show_errors(exc.lines)
        else:
            start_job("opt_job", "optimise", [scenario], seed, reps, settings)
    job = job_status("opt_job")
    if job is not None and job.folder is not None:
        optimise_results(job.folder, scenario)


def optimise_results(folder: Path, scenario: Any) -> None:
    from d2asim.report.optimise_report import best_text

    best = json.loads((folder / "best.json").read_text())
    st.subheader("The best mix")
    for line in best_text(best, inputs.scenario_to_dict(scenario)).splitlines():
        st.markdown(line)
    chart = folder / "charts" / "frontier.png"
    if chart.is_file():
        st.image(str(chart))
    st.subheader("The frontier (frontier.csv)")
    st.dataframe(pd.read_csv(folder / "frontier.csv"), hide_index=True, key="opt_frontier_table")
    st.subheader("Every mix simulated (optimise.csv)")
    st.dataframe(pd.read_csv(folder / "optimise.csv"), hide_index=True, key="opt_table")
    downloads(folder, "optimise")


def main() -> None:
    st.set_page_config(page_title="d2asim", layout="wide")
    page = st.sidebar.radio("Page", PAGES, key="page") or PAGES[0]
    {"Home": home_page, "Scenario": scenario_page, "Run": run_page, "Compare options": compare_page,
     "Sweep and capacity": sweep_page, "Optimise": optimise_page}[page]()
    current = loaded()
    st.sidebar.caption(f"Scenario: {current.scenario.name}" if current else "No scenario loaded")


main()
