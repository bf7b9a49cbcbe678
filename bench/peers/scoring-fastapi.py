# The peer for bench/scoring-score.ts: FastAPI + uvicorn (one worker) + scikit-learn serving the
# same logistic model as gigintel's matching champion: the same encoding of raw model columns
# (numeric/bool/list length with the training mean and a missing indicator, one-hot categories),
# then a scikit-learn Pipeline(StandardScaler, LogisticRegression) whose parameters are set to
# the trained ones (not refitted). Takes the same JSON body as POST /v1/match/score with inline
# features and answers each pair's score.
#   python3 bench/peers/scoring-fastapi.py <model-spec.json> <port>
import json
import math
import sys
from typing import Any, Dict, List, Optional

import numpy as np
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

spec = json.load(open(sys.argv[1]))
port = int(sys.argv[2])
encoding = spec["encoding"]
d = len(encoding["featureNames"])


def list_length(v):
    if isinstance(v, list):
        return len(v)
    if isinstance(v, str):
        try:
            parsed = json.loads(v)
        except ValueError:
            return None
        return len(parsed) if isinstance(parsed, list) else None
    return None


def numeric(kind, v):
    if v is None:
        return None
    if kind == "list_length":
        return list_length(v)
    if kind == "bool":
        return 1.0 if v is True or v == 1 else 0.0 if v is False or v == 0 else None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


# One writer per raw column, at its offset in the design row (as encode-table.ts writeCell).
writers = []
offset = 0
for c in encoding["columns"]:
    if c["kind"] == "categorical":
        index = {v: i for i, v in enumerate(c["categories"])}
        other = len(c["categories"])
        def w(row, v, at=offset, index=index, other=other):
            row[at + (other if v is None else index.get(str(v), other))] = 1.0
        writers.append((c["name"], w))
        offset += other + 1
    elif c["kind"] == "hashed":
        raise SystemExit(f"hashed column {c['name']}: not supported by this peer")
    else:
        def w(row, v, at=offset, c=c):
            x = numeric(c["kind"], v)
            row[at] = c["mean"] if x is None else x
            if c["missingIndicator"] and x is None:
                row[at + 1] = 1.0
        writers.append((c["name"], w))
        offset += 2 if c["missingIndicator"] else 1
assert offset == d, (offset, d)

scaler = StandardScaler()
scaler.mean_ = np.array(spec["means"], dtype=np.float64)
stds = np.array(spec["stds"], dtype=np.float64)
scaler.scale_ = np.where(stds > 0, stds, 1.0)  # the gigintel kernel's rule for a constant column
scaler.var_ = scaler.scale_ ** 2
scaler.n_features_in_ = d
logreg = LogisticRegression()
logreg.coef_ = np.array([spec["coef"]], dtype=np.float64)
logreg.intercept_ = np.array([spec["intercept"]], dtype=np.float64)
logreg.classes_ = np.array([0, 1])
logreg.n_features_in_ = d
model = Pipeline([("scale", scaler), ("logistic", logreg)])


class Pair(BaseModel):
    features: Dict[str, Any]


class ScoreIn(BaseModel):
    pairs: List[Pair]
    explain: bool = False
    unitId: Optional[str] = None


app = FastAPI()


@app.post("/v1/match/score")
def score(body: ScoreIn):
    rows = np.zeros((len(body.pairs), d), dtype=np.float64)
    for i, p in enumerate(body.pairs):
        for name, w in writers:
            w(rows[i], p.features.get(name))
    scores = model.predict_proba(rows)[:, 1]
    return {"results": [{"id": f"pair-{i}", "score": float(s), "rank": None} for i, s in enumerate(scores)]}


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)
