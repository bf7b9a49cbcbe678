#!/usr/bin/env python3
"""The pandas peer of gigintel's point-in-time join (bench/training-set.ts runs it).

usage: training-set-peer.py <dir> '<sets json: {set: {key, ttl: {feature: ms|null}}}>'
Reads <dir>/labels.csv and <dir>/history_<set>.csv (not timed), then times the join alone: per set,
pd.merge_asof by entity with direction='backward', and the created_at <= t and TTL rules.

merge_asof on event_at alone then dropping rows with created_at > t would lose the value a backfill
hides (the right answer is then an earlier row), so each entity's rows are ordered by the time they
became visible, max(event_at, created_at), and carry the index of the row with the latest event_at
seen so far (a cumulative max); merge_asof on the visible time picks the prefix, that index the row.
Prints one JSON line: join_ms, cpu_ms (of the join), read_ms, rows, non-null count per feature column.
"""
import json
import sys
import time

import numpy as np
import pandas as pd


def join_set(labels, hist, key, ttl, prefix):
    h = hist.copy()
    h["visible_at"] = np.maximum(h["event_at"].to_numpy(), h["created_at"].to_numpy())
    h = h.sort_values(["entity_key", "visible_at", "event_at"], kind="stable").reset_index(drop=True)
    # Index of the latest event_at among each entity's rows visible so far.
    best_event = h.groupby("entity_key", sort=False)["event_at"].cummax()
    idx = pd.Series(np.where(h["event_at"].to_numpy() == best_event.to_numpy(), np.arange(len(h)), np.nan))
    h["best_row"] = idx.groupby(h["entity_key"]).ffill().astype("int64")
    right = h[["entity_key", "visible_at", "best_row"]].sort_values("visible_at", kind="stable")
    left = labels[[key, "label_at"]].rename(columns={key: "entity_key"})
    left["entity_key"] = left["entity_key"].astype(str)
    m = pd.merge_asof(left, right, left_on="label_at", right_on="visible_at", by="entity_key", direction="backward")
    found = m["best_row"].notna().to_numpy()
    rows = m["best_row"].fillna(0).astype("int64").to_numpy()
    age = m["label_at"].to_numpy() - h["event_at"].to_numpy()[rows]
    out = {}
    for feature, ttl_ms in ttl.items():
        values = h[feature].to_numpy()[rows]
        keep = found if ttl_ms is None else found & (age <= ttl_ms)
        col = pd.Series(values, index=labels.index)
        out[f"{prefix}__{feature}"] = col.where(keep & pd.notna(values))
    return pd.DataFrame(out)


def main():
    directory, sets = sys.argv[1], json.loads(sys.argv[2])
    t0 = time.perf_counter()
    labels = pd.read_csv(f"{directory}/labels.csv", dtype={"proposal_id": str, "provider_id": str, "job_id": str})
    history = {name: pd.read_csv(f"{directory}/history_{name}.csv", dtype={"entity_key": str}) for name in sets}
    read_ms = (time.perf_counter() - t0) * 1000

    t0, c0 = time.perf_counter(), time.process_time()
    # merge_asof needs the left side sorted by its "on" key; restore label order afterwards.
    ordered = labels.sort_values("label_at", kind="stable")
    parts = [join_set(ordered, history[name], spec["key"], spec["ttl"], name) for name, spec in sets.items()]
    result = pd.concat([ordered] + parts, axis=1).sort_index()
    join_ms = (time.perf_counter() - t0) * 1000
    cpu_ms = (time.process_time() - c0) * 1000

    non_null = {c: int(result[c].notna().sum()) for c in result.columns if "__" in c}
    print(json.dumps({"join_ms": join_ms, "cpu_ms": cpu_ms, "read_ms": read_ms, "rows": len(result), "non_null": non_null, "pandas": pd.__version__}))


if __name__ == "__main__":
    main()
