"""The demo's repeated-experiments table says whether bias or the standard error explains a row that covers
less than nominal by more than 2 MC SE (issue 13: the main job's exposure regression, SE / SD 0.91)."""

import pandas as pd

from netexp._pipeline import _undercoverage_lines


def test_undercoverage_is_attributed_to_bias_or_se():
    r = pd.DataFrame({
        "design": ["cluster"] * 4, "estimator": ["er", "biased", "fine", "neither"],
        "estimand": ["global effect"] * 4,
        "bias": [-0.00003, 0.5, 0.0, 0.1], "sd_estimate": [0.0005, 1.0, 1.0, 1.0],
        "mean_std_error": [0.00046, 1.0, 1.0, 1.0], "coverage": [0.924, 0.90, 0.95, 0.90],
        "coverage_mc_se": [0.012, 0.01, 0.01, 0.01]})
    lines = _undercoverage_lines(r, 0.95)
    assert len(lines) == 3                                    # the 0.95 row is not flagged
    assert "mean_se / sd 0.92 (the standard error is too small)" in lines[0] and "bias" not in lines[0]
    assert "bias +0.50 sd (the estimand differs from the truth used)" in lines[1]
    assert "neither alone explains it" in lines[2]
    assert _undercoverage_lines(r.assign(coverage=0.94), 0.95) == []   # within 2 MC SE of 0.95: silent
