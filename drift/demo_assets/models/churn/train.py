"""Train the churn classifier on one pinned version of the seat spinning features table.

Runs the same way as an Azure ML command job and locally: `--data` is an MLTable folder (Azure ML
mounts the data asset there), `--model-dir` is the job's output folder.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import mltable
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

NUMERIC = ["tenure_months", "monthly_spend", "support_calls"]
CATEGORICAL = ["plan"]
TARGET = "churned"
# Below this many rows a holdout split says nothing; accuracy is then on the training rows.
MIN_ROWS_FOR_HOLDOUT = 20


def features(df: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Numeric columns plus one-hot plans, aligned to `columns` when scoring new data."""
    x = pd.get_dummies(df[NUMERIC + CATEGORICAL], columns=CATEGORICAL, dtype=float)
    return x if columns is None else x.reindex(columns=columns, fill_value=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="MLTable folder of the training data")
    parser.add_argument("--model-dir", required=True, type=Path, help="where the model goes")
    parser.add_argument("--n-estimators", type=int, default=50)
    args = parser.parse_args(argv)

    df = mltable.load(args.data).to_pandas_dataframe()
    missing = sorted(set(NUMERIC + CATEGORICAL + [TARGET]) - set(df.columns))
    if missing:
        print(
            f"error: {args.data} lacks columns {missing}; has {sorted(df.columns)}", file=sys.stderr
        )
        return 2
    df = df.dropna(subset=NUMERIC + CATEGORICAL + [TARGET])
    y = df[TARGET].astype(int)
    if y.nunique() < 2:
        print(
            f"error: {args.data} has {len(df)} usable rows but only churned={sorted(set(y))}; "
            "a classifier needs both classes",
            file=sys.stderr,
        )
        return 3

    x = features(df)
    holdout = len(df) >= MIN_ROWS_FOR_HOLDOUT and y.value_counts().min() >= 2
    if holdout:
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=0.25, random_state=0, stratify=y
        )
    else:
        x_train, x_test, y_train, y_test = x, x, y, y
    model = RandomForestClassifier(n_estimators=args.n_estimators, max_depth=6, random_state=0)
    model.fit(x_train, y_train)
    accuracy = round(float(model.score(x_test, y_test)), 4)

    args.model_dir.mkdir(parents=True, exist_ok=True)
    with open(args.model_dir / "model.pkl", "wb") as f:
        pickle.dump({"model": model, "columns": list(x.columns)}, f)
    metrics = {
        "rows": len(df),
        "accuracy": accuracy,
        "accuracy_on": "holdout" if holdout else "train",
        "n_estimators": args.n_estimators,
        "data": str(args.data),
    }
    (args.model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(
        f"trained churn model on {len(df)} rows: {metrics['accuracy_on']} accuracy "
        f"{accuracy:.3f} -> {args.model_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
