"""The reference ``Model`` (chapters 18-22): the baseline jitnet's Model is measured against."""
import numpy as np
import pytest
from nnfs.datasets import sine_data, spiral_data

import jitnet.reference as R


def spiral_model(dropout=0.0):
    model = R.Model()
    model.add(R.Layer_Dense(2, 64, weight_regularizer_l2=5e-4, bias_regularizer_l2=5e-4))
    model.add(R.Activation_ReLU())
    if dropout:
        model.add(R.Layer_Dropout(dropout))
    model.add(R.Layer_Dense(64, 3))
    model.add(R.Activation_Softmax())
    model.set(loss=R.Loss_CategoricalCrossentropy(),
              optimizer=R.Optimizer_Adam(learning_rate=0.05, decay=5e-5),
              accuracy=R.Accuracy_Categorical())
    model.finalize()
    return model


def test_model_trains_with_batches_and_validation(capsys):
    np.random.seed(0)
    X, y = spiral_data(samples=100, classes=3)
    X_val, y_val = spiral_data(samples=50, classes=3)
    order = np.random.permutation(len(X))  # spiral_data is sorted by class
    X, y = X[order], y[order]
    model = spiral_model(dropout=0.1)
    assert isinstance(model.softmax_classifier_output,
                      R.Activation_Softmax_Loss_CategoricalCrossentropy)
    history = model.train(X, y, epochs=150, batch_size=64, print_every=50,
                          validation_data=(X_val, y_val))
    printed = capsys.readouterr().out.splitlines()
    # Chapter 19's form: every epoch, its 5 steps printed at 0, (50 > 4) and 4.
    assert printed[:5] == ["epoch: 1"] + printed[1:5] and printed[1].startswith("step: 0, acc: ")
    assert printed[2].startswith("step: 4, acc: ") and printed[3].startswith("training, acc: ")
    assert printed[4].startswith("validation, acc: ") and len(printed) == 150 * 5
    assert len(history["loss"]) == len(history["val_loss"]) == 150
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    assert history["regularization_loss"][-1] > 0
    # 300 samples in batches of 64: 5 steps, the last one partial.
    assert model.optimizer.iterations == 150 * 5
    loss, acc = model.evaluate(X_val, y_val, verbose=False)
    assert acc > 0.5 and np.isfinite(loss)
    probs = model.predict(X_val, batch_size=32)
    assert probs.shape == (150, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)


def test_model_parameters_round_trip(tmp_path):
    np.random.seed(1)
    X, y = spiral_data(samples=30, classes=3)
    model = spiral_model()
    model.train(X, y, epochs=3, verbose=False)
    path = tmp_path / "params.npz"
    model.save_parameters(path)
    other = spiral_model()
    other.load_parameters(path)
    np.testing.assert_array_equal(other.predict(X), model.predict(X))


def test_model_regression():
    np.random.seed(2)
    X, y = sine_data()
    model = R.Model()
    for layer in (R.Layer_Dense(1, 64, weight_scale=0.1), R.Activation_ReLU(),
                  R.Layer_Dense(64, 64, weight_scale=0.1), R.Activation_ReLU(),
                  R.Layer_Dense(64, 1, weight_scale=0.1), R.Activation_Linear()):
        model.add(layer)
    model.set(loss=R.Loss_MeanSquaredError(),
              optimizer=R.Optimizer_Adam(learning_rate=0.005, decay=1e-3),
              accuracy=R.Accuracy_Regression())
    model.finalize()
    history = model.train(X, y, epochs=300, verbose=False)
    assert history["loss"][-1] < 0.2 * history["loss"][0]
    assert model.accuracy.precision == pytest.approx(np.std(y) / 250)
