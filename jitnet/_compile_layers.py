"""The per-layer classes' first compilation, on two cores when the cache is empty.

A book script (chapters 9-17) calls the layer classes one by one, so Numba
compiles each kernel at its first call, one after another. On this 2-core
machine the chapter-10 script's first run took 12.8-14.2 s, about 11 s of
it compiling (Numba's compile events), where the book's own script runs in
5.5-7.3 s. Dense's backward alone is 6.3 s of that.

So the first ``Dense.forward`` of a process (per dtype) checks whether
dense's backward is in the disk cache; if not, it starts one helper process
(:func:`main`) that compiles it while this process compiles the forward side
and the small backward kernels as the script calls them. The first
``Dense.backward`` waits until the helper has done (:func:`await_helpers`),
then loads the kernel from the cache; the helper goes on with the other
backward kernels (ReLU, softmax + cross-entropy, the other activations,
losses and optimizers), which this process then finds in the cache if it
has not compiled them itself by then. A helper that fails, hangs or cannot
start only costs time: this process then compiles what it needs itself, as
without a helper. Chapter 10's script on an empty cache, interleaved runs:
8.4-9.2 s with the helper, 11.6-12.7 s in one process
(``JITNET_COMPILE_PROCESSES=1``); the book's own script 4.8-5.3 s. (Waiting
for the whole backward side at every class's first backward call took
10.7-11.5 s: this process sat idle while the helper compiled kernels it
could have compiled itself.)

The helper compiles by calling the classes themselves on tiny arrays, so it
compiles exactly the types the classes pass, with no list of Numba types to
keep in step with them.
"""
import os
import select
import subprocess
import threading
import time

import numpy as np

from . import _compile

READY = "ready"  # the line the helper prints after its first group
_lock = threading.Lock()
_begun = set()  # dtypes this process has considered
#: dtype -> helper process still compiling its first group
pending = {}
#: dtypes whose one-or-two-input Dense backward this process compiles while it
#: waits for the helper (its first Dense had such inputs)
_few_wanted = set()


def _dense_backward_cached(dtype):
    """True, False, or None (unknown) for dense's backward in ``dtype``."""
    from numba import types as T

    from .kernels import dense as D
    f = T.float32 if dtype == np.float32 else T.float64
    a2, d = f[:, ::1], T.float64
    return _compile._is_cached(D.dense_backward,
                               (a2, a2, a2, a2, d, d, d, d, a2, a2, a2, T.boolean))


def begin(dtype, few_inputs=False):
    """Start the helper for ``dtype`` if dense's backward is not cached yet.

    Called by ``Dense.forward``; returns at once after the first call for a
    dtype, and does nothing when compilation must stay in one process
    (``JITNET_COMPILE_PROCESSES=1``, ``JITNET_CACHE=0``, one CPU).
    ``few_inputs``: that first layer has one or two inputs (the book's
    spiral and sine data), so its backward will run
    ``kernels.few_inputs_dense_backward``, which :func:`await_helpers` then
    compiles in this process while the helper compiles dense's backward.
    """
    dtype = np.dtype(dtype)
    with _lock:
        if dtype in _begun:
            return
        _begun.add(dtype)
        if not _compile._parallel_allowed() or _dense_backward_cached(dtype) is not False:
            return
        helper = _compile.start_python(
            f"from jitnet._compile_layers import main; main({dtype.name!r})",
            stdout=subprocess.PIPE)
        if helper is not None:
            pending[dtype] = helper
            if few_inputs:
                _few_wanted.add(dtype)


def await_helpers():
    """Wait until every pending helper has compiled its first group (or stopped).

    First, this process compiles the one-or-two-input Dense backward that
    :func:`begin` was told of: it would otherwise sit idle until the helper
    is ready, then compile that kernel at the layer's first backward call.
    Chapter 10's script, nothing shipped or cached, 2 cores, four
    interleaved rounds: 7.2-10.8 s (median 8.6); with the kernel in the
    helper's first group instead, 7.6-10.1 s (9.8); with the one-pass code
    inside dense's backward, where it first was, 10.0-12.5 s (11.7); before
    it existed, 7.1-8.9 s (8.1).
    """
    with _lock:
        helpers = list(pending.values())
        pending.clear()
        few = list(_few_wanted)
        _few_wanted.clear()
    if few:
        state = np.random.get_state()  # a Dense draws its weights: keep the script's
        for dtype in few:
            _exercise_backward(dtype, ["dense_few"])
        np.random.set_state(state)
    for helper in helpers:
        _wait_ready(helper)


def _wait_ready(helper):
    """Read the helper's output until it says READY, ends, or times out."""
    deadline = time.monotonic() + _compile.HELPER_TIMEOUT
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                helper.kill()
                return
            if os.name == "posix":  # select() takes pipes on POSIX only
                ready, _, _ = select.select([helper.stdout], [], [], remaining)
                if not ready:
                    continue
            line = helper.stdout.readline()
            if not line or line.strip() == READY.encode():
                return  # the helper goes on with its second group on its own
    except (OSError, ValueError):  # a closed pipe: nothing left to wait for
        return


def _exercise_backward(dtype, classes):
    """Call each backward-side method once on tiny arrays of ``dtype``."""
    import jitnet as jn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(dtype)
    probs = np.full((4, 3), 1 / 3, dtype)
    for kind in classes:
        if kind in ("dense", "dense_few"):  # three inputs, or two (another kernel)
            n_in = 3 if kind == "dense" else 2
            layer = jn.Dense(n_in, 3, dtype=dtype)
            layer.inputs = x[:, :n_in].copy()
            layer.backward(x)
        elif kind == "softmax_cce":
            head = jn.SoftmaxCategoricalCrossentropy()
            for labels in (np.array([0, 1, 2, 0], np.uint8), np.array([0, 1, 2, 0])):
                head.backward(probs, labels)  # spiral_data's uint8, and int64
        elif kind in ("ReLU", "Sigmoid", "Linear", "Softmax"):
            act = getattr(jn, kind)()
            act.inputs = act.output = probs
            act.backward(x)
        elif kind == "dropout":
            drop = jn.Dropout(0.5)
            drop.binary_mask = probs
            drop.backward(x)
        elif kind in ("BinaryCrossentropy", "MeanSquaredError", "MeanAbsoluteError"):
            loss = getattr(jn, kind)()
            loss.backward(probs, probs)
            if loss._integer_targets:  # labels the kernel takes as they are
                for labels in _integer_labels(probs.shape):
                    loss.backward(probs, labels)
        elif kind == "CategoricalCrossentropy":
            loss = jn.CategoricalCrossentropy()
            loss.backward(probs, np.array([0, 1, 2, 0], np.uint8))
            loss.backward(probs, probs)
        else:  # an optimizer, with its book settings
            layer = jn.Dense(3, 3, dtype=dtype)
            layer.inputs = x
            layer.backward(x)
            optimizer = kind()
            optimizer.pre_update_params()
            optimizer.update_params(layer)
            optimizer.post_update_params()


def _backward_kinds(jn):
    """What :func:`_exercise_backward` calls, commonest first (dense's first)."""
    return ["dense", "ReLU", "softmax_cce", jn.Adam, "dense_few", "Sigmoid",
            "BinaryCrossentropy", "Linear", "MeanSquaredError", "dropout", "MeanAbsoluteError",
            "CategoricalCrossentropy", "Softmax", lambda: jn.SGD(momentum=0.9), jn.SGD,
            jn.Adagrad, jn.RMSprop]


def main(dtype):
    """The helper's work: dense's backward for ``dtype``, then the rest, commonest first."""
    import jitnet as jn

    dtype = np.dtype(dtype)
    kinds = _backward_kinds(jn)
    _exercise_backward(dtype, kinds[:1])  # dense
    print(READY, flush=True)
    _exercise_backward(dtype, kinds[1:])


def _exercise_forward(dtype):
    """Call each forward-side method once on tiny arrays of ``dtype``."""
    import jitnet as jn

    x = np.random.default_rng(0).standard_normal((4, 3)).astype(dtype)
    labels = (np.array([0, 1, 2, 0], np.uint8), np.array([0, 1, 2, 0]))
    dense = jn.Dense(3, 3, weight_regularizer_l1=1e-4, weight_regularizer_l2=1e-4,
                     dtype=dtype)
    for layer in (dense, jn.ReLU(), jn.Softmax(), jn.Sigmoid(), jn.Linear(), jn.Dropout(0.5)):
        layer.forward(x)
        if isinstance(layer, jn.Dense):
            jn.Loss().regularization_loss(layer)
    probs = np.full((4, 3), 1 / 3, dtype)
    for y in labels:
        jn.SoftmaxCategoricalCrossentropy().forward(x, y)
        jn.CategoricalCrossentropy().calculate(probs, y)
    jn.CategoricalCrossentropy().calculate(probs, probs)
    for loss in (jn.BinaryCrossentropy(), jn.MeanSquaredError(), jn.MeanAbsoluteError()):
        loss.calculate(probs, probs)
        if loss._integer_targets:
            for targets in _integer_labels(probs.shape):
                loss.calculate(probs, targets)


def _integer_labels(shape):
    """0/1 targets of ``shape`` in each dtype of ``_validate.KERNEL_INTEGERS``."""
    from ._validate import KERNEL_INTEGERS

    return [np.resize(np.array([0, 1], dtype), shape) for dtype in KERNEL_INTEGERS]


def _exercise_model_extras(dtype):
    """What the plan leaves out: ``Model.predict`` and ``jitnet.seed``."""
    import jitnet as jn

    model = jn.Model()
    model.add(jn.Dense(3, 3, dtype=dtype))
    model.add(jn.Softmax())
    model.set(loss=jn.CategoricalCrossentropy(), optimizer=jn.Adam(),
              accuracy=jn.CategoricalAccuracy())
    model.finalize()
    model.predict(np.zeros((4, 3), dtype))
    state = np.random.get_state()
    jn.seed(0)
    np.random.set_state(state)


def fill_cache(dtype, helper=False):
    """Compile every kernel jitnet's classes and ``Model`` use for ``dtype``.

    What ``python -m jitnet compile`` runs in one process per dtype: the
    ``Model`` program's plan (:func:`jitnet._compile.plan`), ``Model.predict``
    and ``jitnet.seed``, then the per-layer classes' forward and backward
    sides, called on tiny arrays.
    Kernels already in the disk cache are loaded, not compiled again.

    With ``helper`` (a core to spare), a second process (:func:`fill_helper`)
    compiles the plan's backward half and then the classes' backward side
    while this one compiles the rest; this process then loads their work
    from the cache, and compiles whatever a failed helper left out.
    """
    import jitnet as jn

    dtype = np.dtype(dtype)
    program, here, backward_half = _compile.plan(dtype)
    child = None
    if helper and _compile._parallel_allowed():
        with _lock:
            _begun.add(dtype)  # so Dense.forward starts no second helper
        child = _compile.start_python(
            f"from jitnet._compile_layers import fill_helper; fill_helper({dtype.name!r})",
            stdout=subprocess.PIPE)
    if child is None:
        _compile.compile_all(backward_half)
    _compile.compile_all(here)
    _exercise_forward(dtype)
    _exercise_model_extras(dtype)
    if child is not None:
        _wait_ready(child)  # the plan's backward half is in the cache
    _compile.compile_all(backward_half + [program])  # that half loads; the program compiles
    if child is not None:
        _compile.wait_or_stop(child)
    _exercise_backward(dtype, _backward_kinds(jn))


def fill_helper(dtype):
    """:func:`fill_cache`'s helper: the plan's backward half, READY, then the
    classes' backward side."""
    import jitnet as jn

    dtype = np.dtype(dtype)
    _compile.main(dtype.name)  # what Model.train's helper compiles
    print(READY, flush=True)
    _exercise_backward(dtype, _backward_kinds(jn))
