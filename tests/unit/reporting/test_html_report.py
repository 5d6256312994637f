"""The HTML report: one self-contained page, every untrusted string escaped."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from drift.reporting.html_report import render

EVIL = "<script>alert('x')</script>"


def drift_row(column: str, score: float, kind: str = "numeric", note: str = "") -> dict[str, Any]:
    return {
        "column": column,
        "kind": kind,
        "psi": score,
        "ks": 0.2 if kind == "numeric" else None,
        "p_value": 0.001,
        "score": score,
        "note": note,
    }


def runs() -> list[dict[str, Any]]:
    return [
        {
            "instance_id": "run-older",
            "table": "seat_spinning_features",
            "delta_version": 11,
            "data_asset_version": "20260101080000_v11",
            "registered": {
                "mltable": "seat_spinning_features:20260101080000_v11",
                "uri_folder": "seat_spinning_features_folder:20260101080000_v11",
            },
            "skipped": None,
            "finished_at": "2026-01-01T08:05:00+00:00",
            "retrained": [
                {
                    "model_group": "churn",
                    "job": "churn_20260101080000_abc",
                    "status": "Completed",
                    "duration_s": 312.4,
                    "error": None,
                    "decision": {
                        "action": "retrain",
                        "reason": "retrain: trigger is always",
                        "failed_rules": [],
                        "drift": [],
                        "new_rows": 1000,
                        "baseline_rows": None,
                    },
                }
            ],
        },
        {
            "instance_id": "run-newer",
            "table": "seat_spinning_features",
            "delta_version": 12,
            "data_asset_version": "20260102080000_v12",
            "registered": {
                "mltable": "seat_spinning_features:20260102080000_v12",
                "uri_folder": "seat_spinning_features_folder:20260102080000_v12",
            },
            "skipped": None,
            "finished_at": "2026-01-02T08:05:00+00:00",
            "retrained": [
                {
                    "model_group": "upsell",
                    "job": "upsell_20260102080000_def",
                    "status": "Failed",
                    "duration_s": 40.0,
                    "error": "OOM & <killed>",
                    "decision": {
                        "action": "retrain",
                        "reason": "retrain: drift 0.34 in price (>= 0.1)",
                        "failed_rules": [],
                        "drift": [
                            drift_row("price", 0.34, note="mean 100 -> 110 (+1.00 sd)"),
                            drift_row(EVIL, 0.05, "categorical", note=f"new categories: {EVIL!r}"),
                            drift_row("qty", 0.01),
                        ],
                        "new_rows": 2000,
                        "baseline_rows": 1000,
                        "threshold": 0.1,
                    },
                },
                {
                    "model_group": "pricing",
                    "job": "",
                    "status": "Skipped",
                    "duration_s": None,
                    "error": None,
                    "decision": {
                        "action": "blocked",
                        "reason": "blocked: null fraction of price 0.42 > 0.05; 1 more",
                        "failed_rules": [
                            "null fraction of price 0.42 > 0.05",
                            "price max 1500 > 1000",
                        ],
                        "drift": [drift_row("price", 0.02)],
                        "new_rows": 2000,
                        "baseline_rows": 1000,
                    },
                },
                {
                    "model_group": "legacy",
                    "job": "legacy_20260102080000_ghi",
                    "status": "Completed",
                    "duration_s": 12.0,
                    "error": None,
                    "decision": None,
                },
            ],
        },
        {
            "instance_id": "run-skip",
            "table": "orders & <returns>",
            "delta_version": 3,
            "data_asset_version": None,
            "registered": None,
            "skipped": "commit 3 is OPTIMIZE: no data change",
            "finished_at": "2026-01-03T00:00:00+00:00",
            "retrained": [],
        },
    ]


class Parsed(HTMLParser):
    """Start tags, the text (entities decoded) and every attribute value."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.attrs: list[str] = []
        self.svg_titles: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._stack.append(tag)
        self.attrs += [v or "" for _, v in attrs]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [v or "" for _, v in attrs]

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(self.text)


def parse(page: str) -> Parsed:
    parser = Parsed()
    parser.feed(page)
    parser.close()
    return parser


def test_the_page_holds_tables_versions_and_decisions() -> None:
    page = render(runs())
    parsed = parse(page)
    text = parsed.all_text
    assert "seat_spinning_features" in text
    for version in ("20260101080000_v11", "20260102080000_v12"):
        assert f"seat_spinning_features:{version}" in text
        assert f"seat_spinning_features_folder:{version}" in text
    assert "Delta version 12" in text and "Delta version 11" in text
    for reason in (
        "retrain: trigger is always",
        "retrain: drift 0.34 in price (>= 0.1)",
        "blocked: null fraction of price 0.42 > 0.05; 1 more",
    ):
        assert reason in text
    assert "price max 1500 > 1000" in text  # every failed rule is listed
    for group, job, status in (
        ("churn", "churn_20260101080000_abc", "Completed"),
        ("upsell", "upsell_20260102080000_def", "Failed"),
        ("legacy", "legacy_20260102080000_ghi", "Completed"),
    ):
        assert group in text and job in text and status in text
    assert "312.4 s" in text and "OOM & <killed>" in text
    assert "no policy" in text  # a row without a decision
    assert "none" in text  # the blocked group submitted no job
    assert "commit 3 is OPTIMIZE: no data change" in text
    assert "orders & <returns>" in text
    # Newest run first within a table.
    assert text.index("Delta version 12") < text.index("Delta version 11")


def test_one_chart_per_group_with_drift_and_its_threshold() -> None:
    page = render(runs())
    parsed = parse(page)
    assert parsed.tags.count("svg") == 2  # upsell and pricing; churn has no drift
    assert parsed.tags.count("rect") == 4  # three columns for upsell, one for pricing
    assert parsed.tags.count("line") == 1  # only upsell's decision carries a threshold
    assert "threshold 0.1" in parsed.all_text
    assert "price" in parsed.all_text and "qty" in parsed.all_text


def test_untrusted_strings_are_escaped() -> None:
    page = render(runs())
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    parsed = parse(page)
    assert "script" not in parsed.tags
    assert EVIL in parsed.all_text  # shown as text, in the chart label and its tooltip
    assert "&lt;returns&gt;" in page and "&lt;killed&gt;" in page


def test_the_page_is_self_contained() -> None:
    page = render(runs())
    parsed = parse(page)
    assert "http://" not in page and "https://" not in page
    assert "//" not in " ".join(parsed.attrs)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parsed.tags)
    assert "style" in parsed.tags
    assert page.startswith("<!DOCTYPE html>")


def test_a_long_column_name_is_shortened_in_the_label_only() -> None:
    long_name = "a_really_long_feature_column_name_that_goes_on"
    run = runs()[1]
    run["retrained"][0]["decision"]["drift"] = [drift_row(long_name, 0.2)]
    page = render([run])
    assert long_name[:21] + "…" in parse(page).all_text
    assert f"{long_name}: numeric score 0.2" in parse(page).all_text


def test_no_runs() -> None:
    page = render([])
    assert "No runs yet." in parse(page).all_text


def demo_like_runs() -> list[dict[str, Any]]:
    """What `drift demo` records: a commit, an OPTIMIZE skipped, and a redelivered event."""
    first = {
        "instance_id": "run-1",
        "table": "features",
        "delta_version": 3,
        "data_asset_version": "20260103080000-v3",
        "registered": {"mltable": "features:20260103080000-v3"},
        "newly_registered": True,
        "skipped": None,
        "finished_at": "2026-01-03T08:05:00+00:00",
        "retrained": [
            {
                "model_group": "churn",
                "job": "churn_20260103080000_abc",
                "status": "Completed",
                "duration_s": 7.0,
                "error": None,
                "reused": False,
                "decision": {
                    "action": "retrain",
                    "reason": "retrain: trigger is always",
                    "failed_rules": [],
                    "drift": [],
                    "new_rows": None,  # trigger always reads no data
                    "baseline_rows": None,
                },
            },
            {
                "model_group": "upsell",
                "job": "",
                "status": "Skipped",
                "duration_s": None,
                "error": "skip: no drift above 0.1 (largest 0.0049 in monthly_spend)",
                "reused": False,
                "decision": {
                    "action": "skip",
                    "reason": "skip: no drift above 0.1 (largest 0.0049 in monthly_spend)",
                    "failed_rules": [],
                    "drift": [drift_row("monthly_spend", 0.0049)],
                    "new_rows": 1000,
                    "baseline_rows": 700,
                    "threshold": 0.1,
                },
            },
            {
                "model_group": "fraud",
                "job": "",
                "status": "Blocked",
                "duration_s": None,
                "error": "blocked: monthly_spend max 122 > 100",
                "reused": False,
                "decision": None,
            },
        ],
    }
    skipped = {
        "instance_id": "run-0",
        "table": "features",
        "delta_version": 2,
        "data_asset_version": None,
        "registered": None,
        "newly_registered": False,
        "skipped": "OPTIMIZE rewrote 3 file(s) with dataChange=false",
        "finished_at": "2026-01-02T08:05:00+00:00",
        "retrained": [],
    }
    again = {
        **first,
        "instance_id": "run-2",
        "newly_registered": False,
        "finished_at": "2026-01-03T08:06:00+00:00",
        "retrained": [{**first["retrained"][0], "reused": True}, *first["retrained"][1:]],
    }
    return [skipped, first, again]


def run_blocks(page: str) -> list[str]:
    """Each run's text, whitespace collapsed, newest first."""
    blocks = page.split('<div class="run">')[1:]
    return [" ".join(parse(block).all_text.split()) for block in blocks]


def test_a_card_never_shows_a_python_none() -> None:
    page = render(demo_like_runs())
    text = parse(page).all_text
    assert "None" not in text
    assert "rows 1,000 (baseline 700)" in text  # a policy that counted rows still says so


def test_a_redelivered_event_says_it_registered_and_submitted_nothing_new() -> None:
    again, first, skipped = run_blocks(render(demo_like_runs()))  # newest first
    assert "registered now" in first and "existing job" not in first
    assert "already registered" in again
    assert "churn_20260103080000_abc (existing job, not resubmitted)" in again
    assert "nothing new submitted" in again
    assert "already registered" not in skipped


def test_a_skipped_commit_heading_says_nothing_was_registered() -> None:
    skipped = run_blocks(render(demo_like_runs()))[-1]
    assert "Delta version 2 → nothing registered (skipped)" in skipped
    assert "data asset version" not in skipped


def test_skipped_and_blocked_groups_are_decisions_not_errors() -> None:
    page = render(demo_like_runs())
    parsed = parse(page)
    text = " ".join(parsed.all_text.split())
    assert "error" not in parsed.text
    assert "Skipped (a policy decision)" in text
    assert "Blocked (a policy decision)" in text
    # Without a decision to show the reason, it is still there, labelled as what it is.
    assert "why not run blocked: monthly_spend max 122 > 100" in text
    # A real failure is still called an error.
    assert "error" in parse(render(runs())).text


def test_chart_labels_show_scores_as_the_reason_does() -> None:
    run = demo_like_runs()[1]
    run["retrained"][1]["decision"]["drift"] = [drift_row("monthly_spend", 0.004888)]
    page = render([run])
    assert ">0.0049</text>" in page  # as in "largest 0.0049 in monthly_spend", not 0.00489


def test_run_times_read_as_a_person_reads_them() -> None:
    """Seconds and UTC, not the history's ISO string with microseconds and an offset."""
    page = render(
        [
            {
                "table": "t",
                "delta_version": 1,
                "data_asset_version": "20260101080000-v1",
                "finished_at": "2026-12-03T16:18:23.822126+00:00",
                "registered": {},
                "retrained": [],
            }
        ]
    )
    assert "2026-12-03 16:18:23 UTC" in page
    assert "16:18:23.822126" not in page
