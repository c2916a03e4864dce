"""``Model.train(callbacks=...)``: callables, ``EarlyStopping``, ``Checkpoint``."""
import numpy as np
import pytest

import jitnet as jn
import jitnet.nnfs as lib
from jitnet import workloads as W


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
