"""bench/fit_context.py, the learned context feature tried for issue 16 (not kept): its dual
fit is the logistic regression it claims to be, its stacked scores never see the held rows'
labels, and its windows read the words around a match, not the match's spelling."""

from __future__ import annotations

import numpy as np

from tests.conftest import bench_module


def test_the_dual_fit_is_the_primal_logistic_regression() -> None:
    fit_context, fit_tagger = bench_module("fit_context"), bench_module("fit_tagger")
    rng = np.random.default_rng(16)
    x = rng.normal(size=(40, 6))
    y = (x[:, 0] + rng.normal(size=40) > 0).astype(float)
    primal = fit_tagger._fit(x, y, 2.0)  # L2 on the weights, not the bias
    a, b = fit_context.fit_dual(x @ x.T, y, 2.0)
    assert np.allclose(x.T @ a, primal[1:], atol=1e-6)
    assert abs(b - primal[0]) < 1e-6


def test_held_rows_are_scored_without_their_labels() -> None:
    fit_context = bench_module("fit_context")
    rng = np.random.default_rng(11)
    x = rng.normal(size=(30, 5))
    y = (x[:, 0] > 0).astype(float)
    units = [f"outlet{i % 6}" for i in range(30)]
    held = np.array([u == "outlet0" for u in units])
    first = fit_context.stacked_column(x @ x.T, y, units, ~held, held, 0.5)
    flipped = y.copy()
    flipped[held] = 1 - flipped[held]
    second = fit_context.stacked_column(x @ x.T, flipped, units, ~held, held, 0.5)
    assert np.array_equal(first, second)
    assert not np.allclose(first, 0.5)  # and the model does score


def test_windows_read_the_context_not_the_name() -> None:
    fit_context = bench_module("fit_context")
    a = "Матч сборной Украины завершился вничью"
    b = "Матч сборной Украина завершился вничью"
    ids_a = fit_context.window_ids([("text", 13, 20)], {"text": a})
    ids_b = fit_context.window_ids([("text", 13, 20)], {"text": b})
    assert ids_a == ids_b and len(ids_a) > 5
    strike = "Удар по столице Украины ночью"
    other = fit_context.window_ids([("text", 16, 23)], {"text": strike})
    assert strike[16:23] == "Украины" and other != ids_a
