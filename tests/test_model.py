"""``jitnet.Model``: the compiled path against the per-layer path and the book's Model."""
import numpy as np
import pytest
from nnfs.datasets import sine_data, spiral_data

import jitnet as jn
import jitnet.reference as R
from conftest import PAIRED

# The program's kernels have one twin: the reference Model, compared below.
PAIRED.update({"train_epochs", "forward", "backward", "output_of", "data_loss_sum",
               "count_correct", "regularization_sum", "optimizer_step",
               "evaluate_batches", "predict_batches"})

# (jitnet class, reference class, kwargs) for the networks below.
OPTIMIZERS = {
    "sgd": (jn.SGD, R.Optimizer_SGD, dict(learning_rate=0.5, decay=1e-3)),
    "sgd_momentum": (jn.SGD, R.Optimizer_SGD, dict(learning_rate=0.5, decay=1e-3,
                                                   momentum=0.9)),
    "adagrad": (jn.Adagrad, R.Optimizer_Adagrad, dict(learning_rate=0.5, decay=1e-4)),
    "rmsprop": (jn.RMSprop, R.Optimizer_RMSprop, dict(learning_rate=0.01, decay=1e-5,
                                                      rho=0.99)),
    "adam": (jn.Adam, R.Optimizer_Adam, dict(learning_rate=0.05, decay=5e-5)),
}
TASKS = {  # loss, output activation, accuracy, (jitnet, reference) classes
    "categorical": ((jn.CategoricalCrossentropy, R.Loss_CategoricalCrossentropy),
                    (jn.Softmax, R.Activation_Softmax),
                    (jn.CategoricalAccuracy, R.Accuracy_Categorical), {}),
    "categorical-unfused": ((jn.CategoricalCrossentropy, R.Loss_CategoricalCrossentropy),
                            (jn.Softmax, R.Activation_Softmax),
                            (jn.CategoricalAccuracy, R.Accuracy_Categorical), {}),
    "binary": ((jn.BinaryCrossentropy, R.Loss_BinaryCrossentropy),
               (jn.Sigmoid, R.Activation_Sigmoid),
               (jn.CategoricalAccuracy, R.Accuracy_Categorical), {"binary": True}),
    "mse": ((jn.MeanSquaredError, R.Loss_MeanSquaredError), (jn.Linear, R.Activation_Linear),
            (jn.RegressionAccuracy, R.Accuracy_Regression), {}),
    "mae": ((jn.MeanAbsoluteError, R.Loss_MeanAbsoluteError),
            (jn.Linear, R.Activation_Linear),
            (jn.RegressionAccuracy, R.Accuracy_Regression), {}),
}


def task_data(task, seed=0):
    np.random.seed(seed)
    if task in ("mse", "mae"):
        X, y = sine_data(samples=200)
        return X, y
    classes = 2 if task == "binary" else 3
    X, y = spiral_data(samples=60, classes=classes)
    order = np.random.permutation(len(X))
    X, y = X[order], y[order]
    return X, (y.reshape(-1, 1) if task == "binary" else y)


def build(lib_index, task, optimizer, seed=3, dtype=np.float64, dropout=0.0,
          l2=5e-4, width=16):
    """The same network from jitnet (0) or the reference (1)."""
    (loss_cls, act_cls, acc_cls, acc_kwargs) = (pair if isinstance(pair, dict)
                                                else pair[lib_index]
                                                for pair in TASKS[task])
    opt = OPTIMIZERS[optimizer]
    n_in = 1 if task in ("mse", "mae") else 2
    n_out = 3 if task.startswith("categorical") else 1
    jit = lib_index == 0
    Dense = (lambda *a, **k: jn.Dense(*a, **k, dtype=dtype)) if jit else R.Layer_Dense
    np.random.seed(seed)
    model = jn.Model() if jit else R.Model()
    model.add(Dense(n_in, width, weight_regularizer_l2=l2, bias_regularizer_l1=l2))
    model.add(jn.ReLU() if jit else R.Activation_ReLU())
    if dropout:
        model.add(jn.Dropout(dropout) if jit else R.Layer_Dropout(dropout))
    model.add(Dense(width, n_out, weight_regularizer_l1=l2))
    model.add(act_cls())
    model.set(loss=loss_cls(), optimizer=opt[lib_index](**opt[2]),
              accuracy=acc_cls(**acc_kwargs))
    model.finalize()
    if task == "categorical-unfused":
        model.softmax_classifier_output = None  # the book's way to skip fusing
    return model


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("task", sorted(TASKS))
def test_compiled_model_matches_the_reference_model(task, optimizer):
    X, y = task_data(task)
    fast, book = build(0, task, optimizer), build(1, task, optimizer)
    h_fast = fast.train(X, y, epochs=12, batch_size=50, verbose=False)  # 3 partial batches
    h_book = book.train(X, y, epochs=12, batch_size=50, verbose=False)
    for name in ("loss", "data_loss", "regularization_loss", "accuracy", "learning_rate"):
        np.testing.assert_allclose(h_fast[name], h_book[name], rtol=1e-7, atol=1e-12,
                                   err_msg=name)
    for mine, theirs in zip(fast.get_parameters(), book.get_parameters()):
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-12)
    steps = -(-len(X) // 50)
    assert fast.optimizer.iterations == book.optimizer.iterations == 12 * steps
    np.testing.assert_allclose(fast.predict(X, batch_size=37), book.predict(X),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.evaluate(X, y, verbose=False),
                               book.evaluate(X, y, verbose=False), rtol=1e-9)


def test_validation_figures_match_the_reference():
    X, y = task_data("categorical")
    X_val, y_val = task_data("categorical", seed=9)
    fast, book = build(0, "categorical", "adam"), build(1, "categorical", "adam")
    h_fast = fast.train(X, y, epochs=5, batch_size=64, validation_data=(X_val, y_val),
                        verbose=False)
    h_book = book.train(X, y, epochs=5, batch_size=64, validation_data=(X_val, y_val),
                        verbose=False)
    np.testing.assert_allclose(h_fast.val_loss, h_book["val_loss"], rtol=1e-9)
    np.testing.assert_allclose(h_fast.val_accuracy, h_book["val_accuracy"])


def train_per_layer(layers, optimizer, X, y, epochs, batch):
    """The book's per-layer loop (softmax + CCE head) over ``layers``."""
    fused = jn.SoftmaxCategoricalCrossentropy()
    dense = [layer for layer in layers if isinstance(layer, jn.Dense)]
    for _ in range(epochs):
        for start in range(0, len(X), batch):
            out = X[start:start + batch]
            for layer in layers:
                layer.forward(out)
                out = layer.output
            fused.forward(out, y[start:start + batch])
            fused.backward(fused.output, y[start:start + batch])
            grad = fused.dinputs
            for layer in reversed(layers):
                layer.backward(grad)
                grad = layer.dinputs
            optimizer.pre_update_params()
            for layer in dense:
                optimizer.update_params(layer)
            optimizer.post_update_params()
    return dense


def assert_same_parameters(model, dense, dtype):
    """The Model's trainable layers hold ``dense``'s parameters."""
    rtol = 1e-5 if dtype == np.float32 else 1e-9  # FMA contraction may differ when inlined
    for layer, reference in zip(model.trainable_layers, dense):
        np.testing.assert_allclose(layer.weights, reference.weights, rtol=rtol, atol=rtol * 1e-2)
        np.testing.assert_allclose(layer.biases, reference.biases, rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_path_equals_the_per_layer_path(dtype):
    """Same seed and steps, dropout included: the same parameters."""
    X, y = task_data("categorical")
    X = X.astype(dtype)
    jn.seed(11)
    model = build(0, "categorical", "adam", dtype=dtype, dropout=0.2)
    jn.seed(11)
    layers = build(0, "categorical", "adam", dtype=dtype, dropout=0.2).layers
    model.train(X, y, epochs=20, batch_size=64, verbose=False)
    jn.kernels.seed_rng(11)  # replay the same dropout masks
    opt = OPTIMIZERS["adam"]
    dense = train_per_layer(layers[:-1], opt[0](**opt[2]), X, y, 20, 64)
    assert_same_parameters(model, dense, dtype)


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_predict_equals_the_layers_run_one_by_one(dropout):
    """The program's forward runs each Dense + ReLU as one pass (a ReLU before
    a dropout too, outside training): its predictions are the layers' own."""
    X, y = task_data("categorical")
    model = build(0, "categorical", "adam", dropout=dropout)
    model.train(X, y, epochs=3, batch_size=64, verbose=False)
    out = X
    for layer in model.layers:
        layer.forward(out, training=False)
        out = layer.output
    np.testing.assert_allclose(model.predict(X, batch_size=50), out, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch, lead", [(64, False), (256, False), (64, True)])
def test_relu_dropout_chains_equal_the_per_layer_path(batch, lead, dtype):
    """ReLU + dropout before a Dense run fused in the program, in place over
    the Dense output before them (no ReLU output, no mask; the Dense backward
    applies ``(output > 0) / keep``). Through a first layer, a wide one (BLAS
    at batch 256, loops at 64) and a narrow one, and (``lead``) a ReLU and
    dropout on the input itself, which is copied rather than overwritten,
    the parameters must equal the per-layer path's with the same masks."""
    np.random.seed(0)
    X, y = spiral_data(samples=128, classes=3)
    X = X.astype(dtype)

    def layers():
        np.random.seed(1)
        return [jn.ReLU(), jn.Dropout(0.25)] * lead + [
                jn.Dense(2, 64, weight_regularizer_l2=5e-4, dtype=dtype), jn.ReLU(),
                jn.Dropout(0.3), jn.Dense(64, 64, dtype=dtype), jn.ReLU(),
                jn.Dropout(0.2), jn.Dense(64, 3, dtype=dtype)]

    model = jn.Model()
    for layer in layers():
        model.add(layer)
    model.add(jn.Softmax())
    model.set(loss=jn.CategoricalCrossentropy(), optimizer=jn.Adam(learning_rate=0.01),
              accuracy=jn.CategoricalAccuracy())
    model.finalize()
    by_layer = layers()
    jn.seed(5)
    X_before = X.copy()
    model.train(X, y, epochs=3, batch_size=batch, verbose=False)
    np.testing.assert_array_equal(X, X_before)  # the data is never overwritten
    jn.seed(5)
    dense = train_per_layer(by_layer, jn.Adam(learning_rate=0.01), X, y, 3, batch)
    assert_same_parameters(model, dense, dtype)


def _printing_pair(dtype=np.float64):
    """The same small network from jitnet and from the reference, L2 visible."""
    np.random.seed(0)
    X, y = spiral_data(samples=50, classes=3)
    order = np.random.permutation(len(X))
    X, y = X[order].astype(dtype), y[order]
    models = []
    for jit in (True, False):
        np.random.seed(3)
        Dense = (lambda *a, **k: jn.Dense(*a, **k, dtype=dtype)) if jit else R.Layer_Dense
        model = jn.Model() if jit else R.Model()
        model.add(Dense(2, 16, weight_regularizer_l2=5e-2, bias_regularizer_l2=5e-2))
        model.add(jn.ReLU() if jit else R.Activation_ReLU())
        model.add(Dense(16, 3))
        model.add(jn.Softmax() if jit else R.Activation_Softmax())
        model.set(loss=jn.CategoricalCrossentropy() if jit else R.Loss_CategoricalCrossentropy(),
                  optimizer=(jn.Adam if jit else R.Optimizer_Adam)(learning_rate=0.05,
                                                                   decay=1e-3),
                  accuracy=jn.CategoricalAccuracy() if jit else R.Accuracy_Categorical())
        model.finalize()
        models.append(model)
    return X, y, models


@pytest.mark.parametrize("form", ["chapter 18", "chapter 19"])
def test_printed_lines_are_the_books(form, capsys):
    """Line for line what the reference (the book's Model) prints, in each form.

    Chapter 19's form (batches): ``epoch: N``, ``step:`` lines for step 0,
    every ``print_every``-th and the last (150 samples in batches of 32: steps
    0, 2, 4), ``training,``, ``validation,``. Chapter 18's (no batches): an
    epoch line every ``print_every`` epochs, one validation line at the end.
    """
    X, y, models = _printing_pair()
    if form == "chapter 19":
        kwargs = dict(epochs=3, batch_size=32, print_every=2, validation_data=(X, y))
    else:
        kwargs = dict(epochs=7, print_every=3, validation_data=(X, y))
    printed = []
    for model in models:
        model.train(X, y, **kwargs)
        printed.append(capsys.readouterr().out.splitlines())
    assert printed[0] == printed[1]
    lines = printed[0]
    if form == "chapter 19":
        assert len(lines) == 3 * 6 and lines[0] == "epoch: 1"
        assert [line.split(",")[0] for line in lines[1:6]] == [
            "step: 0", "step: 2", "step: 4", "training", "validation"]
        regs = [float(line.split("reg_loss: ")[1].split(")")[0])
                for line in lines if line.startswith("step: ")]
        assert max(regs) > 0  # the regularisation shows, before each update
    else:
        assert [line.split(",")[0] for line in lines] == [
            "epoch: 3", "epoch: 6", "validation"]


def test_book_api_attributes_and_printing(capsys):
    X, y = task_data("categorical")
    model = build(0, "categorical", "adam", dtype=np.float32)
    assert isinstance(model.input_layer, jn.Input)
    assert model.trainable_layers == [model.layers[0], model.layers[2]]
    assert model.output_layer_activation is model.layers[-1]
    assert isinstance(model.softmax_classifier_output, jn.SoftmaxCategoricalCrossentropy)
    assert model.layers[1].prev is model.layers[0] and model.layers[0].next is model.layers[1]
    history = model.train(X, y, epochs=30, print_every=10, validation_data=(X, y))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4  # chapter 18's form: three epoch lines, one validation
    assert lines[0].startswith("epoch: 10, acc: ") and "(data_loss: " in lines[0]
    assert ", reg_loss: " in lines[0] and "), lr: " in lines[0]
    assert lines[3].startswith("validation, acc: ")
    assert history.epochs == list(range(1, 31))
    assert history["loss"] is history.loss and len(history.val_accuracy) == 30
    assert set(history.as_dict()) == {"epochs", "loss", "data_loss", "regularization_loss",
                                      "accuracy", "learning_rate", "val_loss", "val_accuracy"}
    np.testing.assert_allclose(np.array(history.loss),
                               np.array(history.data_loss) + history.regularization_loss)
    classes = model.output_layer_activation.predictions(model.predict(X))
    assert classes.shape == (len(X),) and set(np.unique(classes)) <= {0, 1, 2}
    assert model.train(X, y, epochs=3, verbose=False).epochs == [1, 2, 3]
    assert capsys.readouterr().out == ""


def test_one_hot_labels_train_like_sparse_labels():
    X, y = task_data("categorical")
    sparse, dense = build(0, "categorical", "adam"), build(0, "categorical", "adam")
    h1 = sparse.train(X, y, epochs=5, verbose=False)
    h2 = dense.train(X, np.eye(3)[y], epochs=5, verbose=False)
    np.testing.assert_allclose(h1.loss, h2.loss, rtol=1e-12)
    np.testing.assert_allclose(h1.accuracy, h2.accuracy)


def test_parameters_are_views_into_the_arena():
    X, y = task_data("categorical")
    model = build(0, "categorical", "sgd")
    first = model.trainable_layers[0]
    before = first.weights
    model.train(X, y, epochs=2, verbose=False)
    assert first.weights is before  # updated in place
    first.weights[...] = 0  # in-place edits reach the compiled program
    first.biases = np.ones((1, first.biases.shape[1]))  # so do re-bindings
    out = model.predict(X[:5])
    second = model.trainable_layers[1]
    relu_out = np.maximum(0, np.ones((5, first.biases.shape[1])))
    np.testing.assert_allclose(out, jn_softmax(relu_out @ second.weights + second.biases))


def jn_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_shuffle_is_repeatable_with_seed_and_changes_the_run():
    X, y = task_data("categorical")

    def run(shuffle):
        jn.seed(5)
        model = build(0, "categorical", "adam")
        return model.train(X, y, epochs=5, batch_size=32, shuffle=shuffle,
                           verbose=False).loss

    assert run(True) == run(True)
    assert run(True) != run(False)


@pytest.mark.parametrize("how", [
    dict(verbose=False),
    dict(verbose=True, batch_size=50),  # one epoch per compiled call
    dict(verbose=False, callbacks=[lambda epoch, logs: None]),  # likewise
    dict(verbose=False, callbacks=[jn.EarlyStopping(monitor="loss", patience=100)]),
])
def test_divergence_stops_training_with_a_clear_error(how, capsys):
    X, y = task_data("mse")
    model = build(0, "mse", "sgd", l2=0)
    model.optimizer.learning_rate = 1e6
    with pytest.raises(FloatingPointError, match=r"epoch \d+.*learning rate"):
        model.train(X, y * 1e3, epochs=50, **how)
    assert len(model.history) < 50 and not np.isfinite(model.history.loss[-1])
    assert np.isfinite(model.history.loss[:-1]).all()  # it stopped at the first


def test_digits_reach_95_percent(capsys):
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    X, y = digits.data / 16.0, digits.target
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, test = order[:1400], order[1400:]
    jn.seed(0)
    model = jn.Model()
    model.add(jn.Dense(64, 128))
    model.add(jn.ReLU())
    model.add(jn.Dense(128, 10))
    model.add(jn.Softmax())
    model.set(loss=jn.CategoricalCrossentropy(), optimizer=jn.Adam(learning_rate=0.005),
              accuracy=jn.CategoricalAccuracy())
    model.finalize()
    model.train(X[train], y[train], epochs=30, batch_size=32, shuffle=True,
                verbose=False)
    loss, accuracy = model.evaluate(X[test], y[test])
    assert accuracy >= 0.95, (loss, accuracy)
    assert "validation, acc: " in capsys.readouterr().out


def test_progress_bar_on_a_terminal_plain_lines_otherwise(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    X, y = task_data("categorical")
    model = build(0, "categorical", "adam")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(sys, "stderr", terminal)  # tqdm draws on stderr
    model.train(X, y, epochs=200, print_every=100)
    shown = terminal.getvalue()
    assert "epoch/s" in shown or "it/s" in shown or "200/200" in shown  # the bar
    assert shown.count("epoch: 100, acc: ") == 1 and "epoch: 200, acc: " in shown
    monkeypatch.undo()
    model.train(X, y, epochs=4, print_every=2)  # captured by pytest: not a terminal
    out = capsys.readouterr().out
    assert out.count("epoch: ") == 2 and "\r" not in out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_count_correct_is_the_books_argmax(dtype):
    """Every class count, sparse and one-hot labels, with ties."""
    from jitnet.kernels import program as P
    rng = np.random.default_rng(7)
    for k in (1, 2, 3, 4, 7):
        # small integers: many ties, where the first maximum wins, as in np.argmax
        out = rng.integers(0, 3, (50, k)).astype(dtype)
        labels = rng.integers(0, k, 50)
        expected = np.sum(np.argmax(out, axis=1) == labels)  # the book's predictions
        onehot = np.eye(k, dtype=dtype)[labels]
        for sparse, y_int in ((True, labels), (False, labels[:0])):
            assert P.count_correct(P.ACC_CATEGORICAL, sparse, 0.0, out, y_int,
                                   onehot) == (expected, 50)
