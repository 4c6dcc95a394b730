"""The reference flow as a minimal compiled event loop (numba ``@njit``): the
practical CPU limit for this model in Python-land.

One binary heap of (time, event) in arrays, patients as rows of preallocated arrays,
FIFO queues as arrays with head/tail indices, free-place counters instead of
resource objects, and the outputs computed in the same compiled function. Event
kinds: arrival (the next one is drawn when one happens), discharge ready, end of
P3's on-ward assessment, end of a downstream service. Same semantics as the other
versions: a patient waiting for P1-P3 keeps the bed, queues are FIFO, a freed bed
or place goes to the head of its queue at once.

Run one replication: ``python benchmarks/limit_numba.py [seed] [rep]``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from numba import njit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.flow import REFERENCE, Flow, lognormal_params

ARRIVAL, READY, ASSESSED, SERVICE_END = 0, 1, 2, 3


@njit(inline="always")
def _push(ht: np.ndarray, hp: np.ndarray, size: int, t: float, payload: int) -> int:
    i = size
    ht[i] = t
    hp[i] = payload
    while i > 0:
        parent = (i - 1) >> 1
        if ht[parent] <= ht[i]:
            break
        ht[parent], ht[i] = ht[i], ht[parent]
        hp[parent], hp[i] = hp[i], hp[parent]
        i = parent
    return size + 1


@njit(inline="always")
def _pop(ht: np.ndarray, hp: np.ndarray, size: int) -> int:
    """Remove the root (caller has read it); returns the new size."""
    size -= 1
    ht[0] = ht[size]
    hp[0] = hp[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and ht[left + 1] < ht[left]:
            child = left + 1
        if ht[i] <= ht[child]:
            break
        ht[child], ht[i] = ht[i], ht[child]
        hp[child], hp[i] = hp[i], hp[child]
        i = child
    return size


@njit(inline="always")
def _stay(k: int, p: np.ndarray) -> float:
    if k == 0:
        return np.random.lognormal(p[4], p[5])
    if k == 1:
        return np.random.lognormal(p[6], p[7])
    return np.random.exponential(p[8])


@njit
def _simulate(seed: int, p: np.ndarray, cum: np.ndarray, beds: int, caps: np.ndarray,
              horizon: float, w0: float, n_max: int) -> tuple[float, float, float, int, int, int]:
    """p = [rate, -, ttr_mu, ttr_sigma, p1_mu, p1_sigma, p2_mu, p2_sigma, p3_mean, assess_mean].
    Returns (occupancy, delayed bed days, mean admission wait h, events, patients, overflow)."""
    np.random.seed(seed)
    nan = np.nan
    arrival = np.full(n_max, nan)
    admit = np.full(n_max, nan)
    ready = np.full(n_max, nan)
    assessed = np.full(n_max, nan)
    leave = np.full(n_max, nan)
    send = np.full(n_max, nan)
    pathway = np.zeros(n_max, np.int64)
    ht = np.empty(n_max + 2)
    hp = np.empty(n_max + 2, np.int64)
    size = 0
    aq = np.empty(n_max, np.int64)  # admission queue
    a_head = 0
    a_tail = 0
    pq = np.empty((3, n_max), np.int64)  # place queues P1..P3
    p_head = np.zeros(3, np.int64)
    p_tail = np.zeros(3, np.int64)
    free_places = caps.copy()
    free_beds = beds
    n = 0
    overflow = 0
    size = _push(ht, hp, size, np.random.exponential(1.0 / p[0]), ARRIVAL)
    while size > 0 and ht[0] < horizon:
        t = ht[0]
        payload = hp[0]
        size = _pop(ht, hp, size)
        kind = payload & 3
        pid = payload >> 2
        if kind == ARRIVAL:
            if n == n_max:
                overflow = 1
                continue
            pid = n
            n += 1
            arrival[pid] = t
            u = np.random.random()
            pw = 3
            for k in range(3):
                if u < cum[k]:
                    pw = k
                    break
            pathway[pid] = pw
            size = _push(ht, hp, size, t + np.random.exponential(1.0 / p[0]), ARRIVAL)
            if free_beds > 0:
                free_beds -= 1
                admit[pid] = t
                size = _push(ht, hp, size, t + np.random.lognormal(p[2], p[3]), pid * 4 + READY)
            else:
                aq[a_tail] = pid
                a_tail += 1
            continue
        pw = pathway[pid]
        if kind == READY:
            ready[pid] = t
            if pw == 3:
                size = _push(ht, hp, size, t + np.random.exponential(p[9]), pid * 4 + ASSESSED)
                continue
        elif kind == ASSESSED:
            assessed[pid] = t
        else:  # SERVICE_END: the place goes to the head of its queue, who leaves the bed
            send[pid] = t
            k = pw - 1
            if p_head[k] == p_tail[k]:
                free_places[k] += 1
                continue
            pid = pq[k, p_head[k]]
            p_head[k] += 1
            pw = pathway[pid]
        # pid is discharge ready (and assessed) or has just been given a place
        if kind != SERVICE_END and pw > 0:
            k = pw - 1
            if free_places[k] == 0:
                pq[k, p_tail[k]] = pid
                p_tail[k] += 1
                continue
            free_places[k] -= 1
        if pw > 0:
            size = _push(ht, hp, size, t + _stay(pw - 1, p), pid * 4 + SERVICE_END)
        leave[pid] = t
        if a_head < a_tail:  # the bed goes to the head of the admission queue
            q = aq[a_head]
            a_head += 1
            admit[q] = t
            size = _push(ht, hp, size, t + np.random.lognormal(p[2], p[3]), q * 4 + READY)
        else:
            free_beds += 1
    # outputs over [w0, horizon)
    occ = 0.0
    delayed = 0.0
    wait_sum = 0.0
    waits = 0
    events = 0
    for i in range(n):
        a, b, r, x, lv, s = arrival[i], admit[i], ready[i], assessed[i], leave[i], send[i]
        end = horizon if math.isnan(lv) else lv
        if not math.isnan(b):
            occ += max(min(end, horizon) - max(b, w0), 0.0)
            if a >= w0:
                wait_sum += b - a
                waits += 1
        if not math.isnan(r):
            delayed += max(min(end, horizon) - max(r, w0), 0.0)
        for v in (a, b, r, x, lv, s):
            if v < horizon:
                events += 1
    mean_wait_h = 24.0 * wait_sum / waits if waits > 0 else 0.0
    return occ / (horizon - w0), delayed, mean_wait_h, events, n, overflow


def _args(flow: Flow, seed: int, rep: int) -> tuple:
    ttr = lognormal_params(flow.ttr_mean, flow.ttr_sd)
    p1 = lognormal_params(flow.p1_mean, flow.p1_sd)
    p2 = lognormal_params(flow.p2_mean, flow.p2_sd)
    p = np.array([flow.arrivals_per_day, 0.0, *ttr, *p1, *p2, flow.p3_mean, flow.p3_assessment_mean])
    cum = np.cumsum(np.array(flow.shares))[:3]
    expected = flow.arrivals_per_day * flow.horizon
    n_max = int(expected + 10 * math.sqrt(expected) + 100)
    return ((seed * 1_000_003 + rep) % (2**32), p, cum, flow.beds, np.array(flow.capacity, np.int64),
            float(flow.horizon), float(flow.warmup_days), n_max)


def run(flow: Flow = REFERENCE, seed: int = 1, rep: int = 0) -> dict[str, float]:
    """One replication: the three outputs and the event count (first call compiles)."""
    occ, delayed, wait_h, events, _, overflow = _simulate(*_args(flow, seed, rep))
    if overflow:
        raise RuntimeError("more arrivals than preallocated patients")
    return {"acute_occupancy_mean": occ, "delayed_bed_days": delayed,
            "admission_wait_mean_hours": wait_h, "events": int(events)}


def compile_now() -> None:
    """Compile ``_simulate`` (a tiny run) so later timings exclude the JIT."""
    run(REFERENCE.shorter(1.0, 1.0), 0, 0)


if __name__ == "__main__":
    import time

    args = [int(a) for a in sys.argv[1:3]]
    t0 = time.perf_counter()
    compile_now()
    t1 = time.perf_counter()
    out = run(REFERENCE, *args)
    t2 = time.perf_counter()
    print(out, f"compile {t1 - t0:.2f} s, run {t2 - t1:.4f} s")
