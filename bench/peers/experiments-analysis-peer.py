#!/usr/bin/env python3
"""The pandas + scipy peer of gigintel's experiment analysis (bench/experiments-analysis.ts runs it).

usage: experiments-analysis-peer.py <dir> '<spec json: {to, metrics: [{key, name, kind, cap}]}>'
Reads <dir>/exposures.csv (unit_id, variant, exposed_at) and <dir>/events.csv (name, unit_id,
value, event_at) (not timed), then times the analysis alone, written the way an analyst would:
join the events to the exposures by unit, keep those in [exposed_at, to), sum per metric and unit,
give every exposed unit its value (0 without events; 1/0 for a binomial metric), cap a mean
metric at the percentile of the units' positive values (the value at rank ceil(p * n) - 1, as
the SQL does), then per variant n and mean, and scipy's Welch t-test of treatment vs control.
Prints one JSON line: analysis_ms, cpu_ms (of the analysis), read_ms, and per metric n, mean, cap, t, p.
"""
import json
import math
import sys
import time

import numpy as np
import pandas as pd
import scipy
from scipy import stats


def analyse(exposures, events, spec):
    joined = events.merge(exposures, on="unit_id", how="inner", sort=False)
    joined = joined[(joined["event_at"] >= joined["exposed_at"]) & (joined["event_at"] < spec["to"])]
    per_unit = joined.groupby(["name", "unit_id"], sort=False, observed=True)["value"].sum()
    units = exposures["unit_id"]
    variant = exposures["variant"].to_numpy()
    out = {}
    for m in spec["metrics"]:
        values = per_unit.xs(m["name"], level="name") if m["name"] in per_unit.index.get_level_values(0) else pd.Series(dtype="float64")
        if m["kind"] == "binomial":
            values = (values > 0).astype("float64")
        x = values.reindex(units, fill_value=0.0).to_numpy(dtype="float64")
        cap = None
        if m["cap"] is not None:
            positive = np.sort(x[x > 0])
            if len(positive):
                k = min(len(positive) - 1, max(0, math.ceil(m["cap"] * len(positive)) - 1))
                cap = float(positive[k])
                x = np.minimum(x, cap)
        groups = [x[variant == v] for v in sorted(np.unique(variant))]
        t, p = stats.ttest_ind(groups[1], groups[0], equal_var=False)
        out[m["key"]] = {"n": [int(len(g)) for g in groups], "mean": [float(g.mean()) for g in groups], "cap": cap, "t": float(t), "p": float(p)}
    return out


def main():
    folder, spec = sys.argv[1], json.loads(sys.argv[2])
    t0 = time.perf_counter()
    exposures = pd.read_csv(f"{folder}/exposures.csv", dtype={"unit_id": str, "variant": "int8", "exposed_at": "int64"})
    events = pd.read_csv(f"{folder}/events.csv", dtype={"name": "category", "unit_id": str, "value": "float64", "event_at": "int64"})
    read_ms = (time.perf_counter() - t0) * 1000
    c0, t0 = time.process_time(), time.perf_counter()
    metrics = analyse(exposures, events, spec)
    analysis_ms, cpu_ms = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
    print(json.dumps({"analysis_ms": analysis_ms, "cpu_ms": cpu_ms, "read_ms": read_ms, "pandas": pd.__version__, "scipy": scipy.__version__, "metrics": metrics}))


if __name__ == "__main__":
    main()
