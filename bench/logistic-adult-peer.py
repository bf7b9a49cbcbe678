#!/usr/bin/env python3
"""The scikit-learn peer of gigintel's logistic regression on UCI Adult (bench/logistic-adult.ts runs it).

usage: logistic-adult-peer.py <adult.csv> <split.json> <l2>
split.json holds the train and holdout row indices gigintel drew (seeded). The encoding is the
same as gigintel's encodeTable with topK above every column's category count: numbers as they are,
one 0/1 column per category seen in the training rows (an unseen category: all zeros, which is
what gigintel's constant `__other__` column amounts to), then every column standardised on the
training rows (StandardScaler, population std) and LogisticRegression(C = 1/l2): the same
objective gigintel minimises. Times the scaler + fit. Prints one JSON line.
"""
import csv
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.preprocessing import StandardScaler

NUMERIC = [0, 2, 4, 10, 11, 12]
CATEGORICAL = [1, 3, 5, 6, 7, 8, 9, 13]


def main():
    path, split_path, l2 = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(path, newline="") as f:
        rows = [[v.strip() for v in r] for r in csv.reader(f) if r]
    split = json.load(open(split_path))
    train, holdout = np.array(split["train"]), np.array(split["holdout"])
    y = np.array([1 if r[14] == ">50K" else 0 for r in rows])

    t0 = time.perf_counter()
    cols = [np.array([float(r[j]) for r in rows]) for j in NUMERIC]
    names = [f"c{j}" for j in NUMERIC]
    for j in CATEGORICAL:
        values = np.array([r[j] for r in rows])
        for cat in sorted(set(values[train])):
            cols.append((values == cat).astype(float))
            names.append(f"c{j}={cat}")
    X = np.column_stack(cols)
    encode_ms = (time.perf_counter() - t0) * 1000

    out = {"sklearn": sklearn.__version__, "features": X.shape[1]}
    for solver, kw in (("newton-cholesky", {"tol": 1e-8, "max_iter": 100}), ("lbfgs", {"max_iter": 1000})):
        t0 = time.perf_counter()
        scaler = StandardScaler().fit(X[train])
        model = LogisticRegression(C=1.0 / l2, solver=solver, **kw).fit(scaler.transform(X[train]), y[train])
        fit_ms = (time.perf_counter() - t0) * 1000
        p = model.predict_proba(scaler.transform(X[holdout]))[:, 1]
        out[solver] = {
            "fit_ms": round(fit_ms, 1), "n_iter": int(model.n_iter_[0]),
            "auc": float(roc_auc_score(y[holdout], p)), "log_loss": float(log_loss(y[holdout], p)),
            "p_head": [float(x) for x in p[:5]],
        }
    out["encode_ms"] = round(encode_ms, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
