"""``Model.train(callbacks=...)``: callables, ``EarlyStopping``, ``Checkpoint``."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import jitnet as jn
import jitnet.nnfs as lib
from conftest import pairs
from jitnet import workloads as W
from jitnet.kernels import program as P


def spiral_model(lr=0.05):
    return W.model(lib, (2, 16, 3), jn.Adam(learning_rate=lr))


def test_a_callable_sees_every_epoch_and_can_stop():
    X, y = W.spiral()
    seen = []

    def watch(epoch, logs):
        seen.append((epoch, sorted(logs)))
        return epoch == 4  # stop after the fourth

    model = spiral_model()
    history = model.train(X, y, epochs=50, verbose=False, validation_data=(X, y),
                          callbacks=[watch])
    assert [epoch for epoch, _ in seen] == [1, 2, 3, 4] and len(history) == 4
    assert seen[0][1] == sorted(["loss", "data_loss", "regularization_loss", "accuracy",
                                 "learning_rate", "val_loss", "val_accuracy"])
    assert model.history is history and model.optimizer.iterations == 4


def test_early_stopping_restores_the_best_epoch():
    """min_delta too large for any later epoch to count: the best stays epoch 1."""
    X, y = W.spiral()
    model = spiral_model()
    weights = []
    def record(epoch, logs):
        weights.append(model.trainable_layers[0].weights.copy())

    stopper = jn.EarlyStopping(monitor="loss", patience=3, min_delta=1e9)
    history = model.train(X, y, epochs=100, verbose=False, callbacks=[record, stopper])
    assert len(history) == 4 and stopper.best_epoch == 1
    np.testing.assert_array_equal(model.trainable_layers[0].weights, weights[0])
    assert model.optimizer.iterations == 1  # the optimizer state of epoch 1 too
    assert not np.array_equal(weights[0], weights[-1])
    model.train(X, y, epochs=2, verbose=False)  # and training goes on from there
    assert model.optimizer.iterations == 3


def test_early_stopping_on_a_plateau_keeps_going_while_it_improves():
    X, y = W.spiral()
    stopper = jn.EarlyStopping(monitor="loss", patience=2, restore_best=False)
    history = spiral_model().train(X, y, epochs=30, verbose=False, callbacks=[stopper])
    assert len(history) == 30  # the loss falls every epoch here
    stopper = jn.EarlyStopping(monitor="accuracy", patience=2)  # mode auto: max
    history = spiral_model(lr=0.0).train(X, y, epochs=30, verbose=False,
                                         callbacks=[stopper])
    assert len(history) == 3  # nothing changes with a zero learning rate


def test_checkpoint_saves_the_improving_model(tmp_path):
    X, y = W.spiral()
    path = tmp_path / "best.model"
    model = spiral_model()
    keep = jn.Checkpoint(path, monitor="loss")
    model.train(X, y, epochs=20, verbose=False, callbacks=[keep])
    np.testing.assert_allclose(jn.Model.load(path).predict(X), model.predict(X), rtol=1e-6)
    every = jn.Checkpoint(tmp_path / "every.model", every=5)
    model.train(X, y, epochs=4, verbose=False, callbacks=[every])
    assert not (tmp_path / "every.model").exists()
    model.train(X, y, epochs=5, verbose=False, callbacks=[every])
    assert (tmp_path / "every.model").exists()


@pytest.mark.parametrize("callbacks, error, words", [
    ([jn.EarlyStopping()], ValueError, ["val_loss", "validation_data"]),
    ([jn.Checkpoint("x.model", monitor="val_accuracy")], ValueError, ["val_accuracy"]),
    ([jn.EarlyStopping(monitor="lost")], ValueError, ["'lost'", "recorded"]),
    ([42], TypeError, ["on_epoch_end"]),
])
def test_bad_callbacks_are_refused_before_training(callbacks, error, words):
    X, y = W.spiral()
    model = spiral_model()
    with pytest.raises(error) as info:
        model.train(X, y, epochs=3, verbose=False, callbacks=callbacks)
    assert all(word in str(info.value) for word in words), str(info.value)
    assert model.optimizer.iterations == 0


def test_bad_early_stopping_settings():
    with pytest.raises(ValueError, match="mode"):
        jn.EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="patience"):
        jn.EarlyStopping(patience=0)


def _twin_runs(stopper_args, train_args, seed=3):
    """The same training with a lone EarlyStopping (run in the compiled loop) and
    with it beside a do-nothing callable (called from Python after every epoch)."""
    X, y = W.spiral()
    results = []
    for extra in ([], [lambda epoch, logs: None]):
        jn.seed(seed)
        np.random.seed(seed)
        model = spiral_model(lr=0.3)
        stopper = jn.EarlyStopping(**stopper_args)
        history = model.train(X, y, verbose=False, callbacks=[stopper] + extra, **train_args)
        results.append((model, stopper, history))
    return results


@pytest.mark.parametrize("stopper_args, train_args", [
    (dict(monitor="val_loss", patience=3), dict(epochs=400)),
    (dict(monitor="val_accuracy", patience=4, min_delta=0.01), dict(epochs=400)),
    (dict(monitor="loss", patience=2, restore_best=False), dict(epochs=400)),
    (dict(monitor="data_loss", patience=5, mode="max"), dict(epochs=60, batch_size=128,
                                                              shuffle=True)),
])
def test_early_stopping_in_the_compiled_loop_matches_the_python_rule(stopper_args,
                                                                     train_args):
    X, y = W.spiral()
    train_args = dict(train_args, validation_data=(X[::3], y[::3]))
    (fast, fast_stop, fast_history), (slow, slow_stop, slow_history) = _twin_runs(
        stopper_args, train_args)
    assert len(fast_history) < train_args["epochs"]  # it did stop early
    assert fast_history.as_dict() == slow_history.as_dict()
    assert (fast_stop.best, fast_stop.best_epoch, fast_stop.wait) == (
        slow_stop.best, slow_stop.best_epoch, slow_stop.wait)
    assert fast.optimizer.iterations == slow.optimizer.iterations
    assert fast.optimizer.current_learning_rate == slow.optimizer.current_learning_rate
    for a, b in zip(fast.get_parameters(), slow.get_parameters()):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(fast._program.state1, slow._program.state1)
    np.testing.assert_array_equal(fast._program.state2, slow._program.state2)


def test_early_stopping_in_the_compiled_loop_spans_printed_chunks(capsys):
    """verbose training runs chunks up to the next printed epoch: the rule's state
    (best, wait, snapshot) carries over from one compiled call to the next."""
    X, y = W.spiral()
    runs = []
    for verbose in (False, True):
        jn.seed(5)
        np.random.seed(5)
        model = spiral_model(lr=0.3)
        stopper = jn.EarlyStopping(monitor="val_loss", patience=7)
        history = model.train(X, y, epochs=500, print_every=3, verbose=verbose,
                              validation_data=(X[::3], y[::3]), callbacks=[stopper])
        runs.append((model.get_parameters(), stopper.best_epoch, len(history)))
    assert "epoch: 3," in capsys.readouterr().out
    (p0, best0, n0), (p1, best1, n1) = runs
    assert (best0, n0) == (best1, n1) and n0 < 500 and n0 - best0 == 7
    for a, b in zip(p0, p1):
        np.testing.assert_array_equal(a[0], b[0])


@pairs("watch_epoch")  # its twin: EarlyStopping.on_epoch_end
@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.floats(-3, 3), st.sampled_from([0.5, 1.0, np.nan])),
                       min_size=1, max_size=40),
       patience=st.integers(1, 6), min_delta=st.sampled_from([0.0, 0.1, 1.0]),
       mode=st.sampled_from(["min", "max"]))
def test_watch_epoch_kernel_against_early_stopping_on_epoch_end(values, patience,
                                                                min_delta, mode):
    """Fed the same figures, the compiled rule stops at the same epoch with the
    same best value, best epoch and wait as the Python rule, and snapshots the
    arrays at the best epoch."""
    python = jn.EarlyStopping(monitor="loss", patience=patience, min_delta=min_delta,
                              mode=mode, restore_best=False)
    python.set_model(None)
    watch = np.zeros(P.WATCH_SIZE)
    watch[P.W_COLUMN], watch[P.W_SIGN] = P.S_LOSS, 1.0 if mode == "min" else -1.0
    watch[P.W_MIN_DELTA], watch[P.W_PATIENCE] = min_delta, patience
    params, state1, state2 = (np.zeros(3, np.float32) for _ in range(3))
    opt_state = np.zeros(2)
    snapshot = np.full(9, -1.0, np.float32)
    row = np.full(P.STAT_COLUMNS, np.nan)
    for epoch, value in enumerate(values, start=1):
        params[:], state1[:], state2[:] = epoch, 10 * epoch, 100 * epoch
        opt_state[:] = epoch, 1.0 / epoch
        row[P.S_LOSS] = value
        stop = P.watch_epoch(watch, row, params, state1, state2, opt_state, snapshot)
        assert stop == python.on_epoch_end(epoch, {"loss": value})
        assert watch[P.W_BEST_EPOCH] == python.best_epoch
        assert watch[P.W_WAIT] == python.wait
        assert np.array_equal(watch[P.W_BEST], python.best, equal_nan=True)
        best = python.best_epoch
        np.testing.assert_array_equal(snapshot, [best] * 3 + [10 * best] * 3 + [100 * best] * 3)
        assert watch[P.W_ITERATIONS] == best
        if stop:
            break
