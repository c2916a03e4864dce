"""``jitnet.sklearn``: scikit-learn's stopping rules, early stopping and Ctrl-C in ``fit``."""
import os

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402

from conftest import interrupt_child  # noqa: E402
from jitnet.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def _digits(n=600):
    digits = load_digits()
    return digits.data[:n] / 16.0, digits.target[:n]


def test_a_training_loss_plateau_stops_fit_as_scikit_learn_does():
    """Without early_stopping, more than n_iter_no_change epochs in a row without
    the loss falling by tol stop fit; with a zero learning rate that is epoch 1
    (the best), then n_iter_no_change + 1 stalled epochs."""
    X, y = _digits(200)
    clf = MLPClassifier(learning_rate=0.0, epochs=100, n_iter_no_change=4,
                        random_state=0).fit(X, y)
    assert clf.n_iter_ == len(clf.loss_curve_) == 6
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    learning = MLPClassifier(learning_rate=0.01, epochs=15, tol=0.0, random_state=0).fit(X, y)
    assert learning.n_iter_ == 15  # the loss falls every epoch: no stop
    partial = MLPClassifier(random_state=0).partial_fit(X, y, classes=np.arange(10))
    assert partial.n_iter_ == 1 and partial.best_loss_ is None  # no stopping rule there
    assert partial.validation_scores_ is None and partial.best_validation_score_ is None


@pytest.mark.parametrize("estimator", ["classifier", "regressor"])
def test_early_stopping_holds_out_rows_and_restores_the_best_epoch(estimator):
    X, y = _digits(600)
    if estimator == "classifier":
        model = MLPClassifier(hidden_layer_sizes=(32,), learning_rate=0.01, epochs=200,
                              early_stopping=True, validation_fraction=0.2,
                              n_iter_no_change=3, tol=0.02, random_state=1)
        targets = y
    else:
        model = MLPRegressor(hidden_layer_sizes=(32,), learning_rate=0.01, epochs=200,
                             early_stopping=True, validation_fraction=0.2,
                             n_iter_no_change=3, tol=0.02, random_state=1)
        targets = X[:, 20:23] + X[:, 40:43]  # three outputs
    model.fit(X, targets)
    assert 4 <= model.n_iter_ < 200  # stopped early
    assert len(model.validation_scores_) == model.n_iter_ == len(model.loss_curve_)
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_loss_ is None
    # the same held-out rows as fit's split (stratified for the classifier)
    stratify = y if estimator == "classifier" else None
    _, X_val, _, t_val = train_test_split(X, targets, test_size=0.2,
                                          random_state=check_random_state(1),
                                          stratify=stratify)
    if estimator == "classifier":
        assert np.bincount(t_val, minlength=10).min() >= 10  # every class held out
        score = model.score(X_val, t_val)
    else:
        score = r2_score(t_val, model.predict(X_val))
    # the network is the best epoch's, not the last one's
    assert score == pytest.approx(model.best_validation_score_, rel=1e-6)


@pytest.mark.parametrize("settings, words", [
    (dict(early_stopping=True, validation_fraction=1.5), ["validation_fraction", "1.5"]),
    (dict(validation_fraction=-0.1), ["validation_fraction"]),
    (dict(early_stopping=True, validation_fraction=0.0), ["validation_fraction", "above 0"]),
    (dict(early_stopping=True, validation_fraction=0.01), ["validation set is too small"]),
    (dict(n_iter_no_change=0), ["n_iter_no_change"]),
    (dict(tol=-1.0), ["tol", "[0, inf)"]),
])
def test_bad_stopping_settings_raise_and_leave_a_fitted_estimator_as_it_was(settings, words):
    X, y = _digits(60)
    fitted = MLPRegressor(epochs=3, random_state=0).fit(X, y)
    before = fitted.predict(X)
    with pytest.raises(ValueError) as info:
        fitted.set_params(**settings).fit(X, y)
    assert all(word in str(info.value) for word in words), str(info.value)
    if "too small" not in words[0]:  # refused before anything was rebuilt
        np.testing.assert_array_equal(fitted.predict(X), before)
        assert fitted.n_iter_ == 3


def test_partial_fit_refuses_early_stopping_as_scikit_learn_does():
    X, y = _digits(60)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.arange(10))
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPRegressor(early_stopping=True).partial_fit(X, y)


def test_a_diverging_fit_raises_floating_point_error():
    X, _ = _digits(200)
    with pytest.raises(FloatingPointError, match="learning rate"):
        MLPRegressor(optimizer="sgd", learning_rate=1e6, epochs=50, batch_size=200,
                     random_state=0).fit(X, X.sum(axis=1) * 1e3)


def test_ctrl_c_before_the_first_epoch_keeps_the_estimator_consistent(monkeypatch):
    """Ctrl-C can land before Model.train starts its epochs (while it checks
    the data or compiles): no epoch is recorded twice, and nothing breaks."""
    import jitnet.model as M

    X, y = _digits(100)
    clf = MLPClassifier(random_state=0).partial_fit(X, y, classes=np.arange(10))
    curve = list(clf.loss_curve_)

    def interrupted(dtype):
        raise KeyboardInterrupt

    monkeypatch.setattr(M._compile, "begin", interrupted)
    with pytest.warns(UserWarning, match="interrupted by user"):
        clf.partial_fit(X, y)
    assert clf.loss_curve_ == curve and clf.n_iter_ == 1
    with pytest.warns(UserWarning, match="interrupted by user"):
        fresh = MLPClassifier(random_state=0).fit(X, y)
    assert fresh.n_iter_ == 0 and fresh.loss_curve_ == []


CHILD = """
import json, sys, time, warnings
import numpy as np
from jitnet.sklearn import MLPClassifier
rng = np.random.default_rng(0)
X = rng.standard_normal((2000, 20))
y = (X[:, 0] > 0).astype(int)
MLPClassifier(epochs=1, random_state=0).fit(X[:100], y[:100])  # compiled
print("fitting", flush=True)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    clf = MLPClassifier(epochs=100000, n_iter_no_change=100000,
                        random_state=0).fit(X, y)
stopped = time.time()
print(json.dumps({"stopped": stopped, "n_iter": clf.n_iter_,
                  "curve": len(clf.loss_curve_), "score": clf.score(X, y),
                  "warnings": [str(w.message) for w in caught]}), flush=True)
"""


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to a child")
def test_ctrl_c_during_fit_warns_and_leaves_a_fitted_estimator():
    report, sent = interrupt_child(CHILD, ready="fitting", delay=1.5)
    assert 0 < report["stopped"] - sent < 0.5  # stopped by the signal
    assert 0 < report["n_iter"] == report["curve"] < 100000
    assert report["score"] > 0.9  # it predicts with what it learnt
    assert "Training interrupted by user." in report["warnings"]
