"""The Model's fast path: one compiled interpreter for every network.

``jitnet.Model.finalize`` describes the network as a small integer *tape*
(one row per layer: op code, widths, offsets into the arenas) plus float
tables (regularisation factors, dropout keep rates, optimizer settings).
:func:`train_epochs` then runs forward, loss, accuracy, backward,
regularisation and the optimizer update for every batch of several epochs in
one call, so Python is entered once per printed line instead of once per layer
per batch. Because the architecture is data, not code, one compiled function
(per dtype) serves every network and caches on disk once.

Arenas (flat arrays, C order):

* ``params``/``grads``/``state1``/``state2``: every layer's weights then
  biases at the offsets in the tape; ``state1``/``state2`` hold the optimizer's
  momentums and caches, so an update is one sweep over contiguous memory.
* ``acts``/``dacts``: each op's output and the gradient with respect to it,
  ``capacity * width`` elements per op, ``capacity`` being the largest batch.
* ``masks``: dropout masks, laid out like ``acts``.
"""
import math

import numpy as np

from ._jit import jit, jit_inline
from .activations import (copy_values, linear_backward, linear_forward, relu_backward,
                          relu_forward, sigmoid_backward, sigmoid_forward,
                          softmax_backward, softmax_forward)
# The one body behind dense_backward and relu_dense_backward: calling it
# directly compiles that body once for the program instead of three times.
from .dense import _backward as dense_backward_any
from .dense import dense_forward, regularization_loss
from .dropout import dropout_backward, dropout_forward, relu_dropout_forward
from .losses import (bce_backward, bce_forward, cce_backward_onehot,
                     cce_backward_sparse, cce_forward_onehot,
                     cce_forward_sparse, mae_backward, mae_forward,
                     mse_backward, mse_forward, softmax_cce_backward_onehot,
                     softmax_cce_backward_sparse)
from .optimizers import (adagrad_update, adam_update, decayed_learning_rate,
                         rmsprop_update, sgd_momentum_update, sgd_update)

# Op codes (tape column T_OP).
OP_DENSE, OP_RELU, OP_SOFTMAX, OP_SIGMOID, OP_LINEAR, OP_DROPOUT = range(6)
# Tape columns: op, input width, output width, weight offset, bias offset,
# dense-layer index (row of the regularisation table), offset of the op's
# output in acts/dacts, offset of its dropout mask, and 1 on a dropout that
# runs fused with the ReLU before it (T_FUSED, below).
T_OP, T_IN, T_OUT, T_W, T_B, T_DENSE, T_ACT, T_MASK, T_FUSED = range(9)
TAPE_COLUMNS = 9

LOSS_CCE, LOSS_BCE, LOSS_MSE, LOSS_MAE = range(4)
ACC_CATEGORICAL, ACC_BINARY, ACC_REGRESSION = range(3)
OPT_SGD, OPT_SGD_MOMENTUM, OPT_ADAGRAD, OPT_RMSPROP, OPT_ADAM = range(5)
# Optimizer settings (``hyper``): learning rate, decay, then per optimizer
# momentum | epsilon | epsilon, rho | epsilon, beta_1, beta_2.
# Optimizer state (``opt_state``, float64): iterations, current learning rate.

# Columns of the per-epoch statistics written by train_epochs.
(S_LOSS, S_DATA_LOSS, S_REG_LOSS, S_ACCURACY, S_LEARNING_RATE,
 S_VAL_LOSS, S_VAL_ACCURACY) = range(7)
STAT_COLUMNS = 7
# Columns of the per-step figures of the steps that print (the book's
# chapter 19-22 ``step:`` lines): the batch's loss, data loss, accuracy, the
# regularisation loss of the parameters it was computed with, the learning
# rate of its update, and its step number within the epoch.
(STEP_NUMBER, STEP_LOSS, STEP_DATA_LOSS, STEP_REG_LOSS, STEP_ACCURACY,
 STEP_LEARNING_RATE) = range(6)
STEP_COLUMNS = 6
# Early stopping inside the loop (jitnet.callbacks.EarlyStopping), in a
# float64 array ``watch``: the monitored column of ``stats`` (-1: none), 1 to
# minimise or -1 to maximise it, min_delta, patience; then its state: the
# best value, the epochs without improvement, the epochs seen, the best
# epoch (counted from 1; 0 before the first), 1 once it stopped training,
# and the optimizer's iterations and learning rate at the best epoch.
(W_COLUMN, W_SIGN, W_MIN_DELTA, W_PATIENCE, W_BEST, W_WAIT, W_SEEN,
 W_BEST_EPOCH, W_STOPPED, W_ITERATIONS, W_LEARNING_RATE) = range(11)
WATCH_SIZE = 11


@jit_inline
def is_finite(x):
    """``np.isfinite`` for a scalar, robust to the kernels' fast-math flags.

    Compiled with the shared fast-math flags, Numba's ``np.isfinite`` returns
    True for NaN (seen with Numba 0.68; ``test_is_finite_survives_fastmath``
    guards it), while ``math.isnan``/``math.isinf`` stay correct.
    """
    return not (math.isnan(x) or math.isinf(x))


@jit_inline
def _rows(arena, offset, n, width):
    """The ``(n, width)`` block of ``arena`` that starts at ``offset``."""
    return arena[offset:offset + n * width].reshape((n, width))


# T_FUSED: a dropout between a ReLU and a Dense layer (jitnet._program marks
# it). In training such a ReLU and dropout run as one in-place pass over the
# Dense output before them (relu_dropout_forward; no ReLU output, no mask),
# and the Dense after them applies both masks in its backward as
# ``(dropout output > 0) / keep_rate``. On chapter 18's 3000 x 512
# activations this drops the mask, the ReLU output and three backward passes
# (dropout's, the ReLU's, and a mask pass after BLAS), and working in place
# took the step's kernels from 2.7-2.9 to 2.2-2.4 ms.


@jit_inline
def _relu_follows(tape, i, training):
    """True when op ``i`` is a Dense whose output goes only through a ReLU that
    :func:`forward` runs fused with it (not one a fused dropout applies).

    The Dense's own block in ``acts`` is then left unwritten: the backward
    pass reads the ReLU's output, never its input (the ReLU's output is > 0
    exactly where its input was).
    """
    last = tape.shape[0] - 1
    if i < 0 or i >= last or tape[i, T_OP] != OP_DENSE or tape[i + 1, T_OP] != OP_RELU:
        return False
    return not (training and i + 2 <= last and tape[i + 2, T_FUSED])


# forward and backward are compiled on their own, not inlined into their
# callers: on an empty cache jitnet compiles backward in a second process
# while this one compiles forward and evaluate_batches (jitnet/_compile.py),
# which leaves less for train_epochs itself. Cold first epoch on 2 cores,
# 20.0-20.5 s with both inlined -> 17.3-18.3 s; in one process, inlining them
# was the faster choice (by about 2.5 s: Numba re-optimises every callee's
# LLVM code in each caller's module). The small helpers between the program
# and the layer kernels (output_of, data_loss_sum, count_correct,
# regularization_sum, optimizer_step, is_finite) are inlined: with the dense
# kernels' private helpers, 62 -> 50 compilations, about 2 s of a cold first
# epoch. Inlining the big ones (evaluate_batches, or every layer kernel) made
# it slower (26-28 s and 53 s): Numba's inliner copies and re-types the
# callee at each call site.
@jit
def forward(tape, keep, params, acts, masks, x, training):
    """Run every op on the batch ``x`` (n, n_features); outputs land in ``acts``."""
    n = x.shape[0]
    for i in range(tape.shape[0]):
        op, w_in, w_out = tape[i, T_OP], tape[i, T_IN], tape[i, T_OUT]
        inp = x if i == 0 else _rows(acts, tape[i - 1, T_ACT], n, w_in)
        out = _rows(acts, tape[i, T_ACT], n, w_out)
        if op == OP_DENSE:
            w = _rows(params, tape[i, T_W], w_in, w_out)
            b = _rows(params, tape[i, T_B], 1, w_out)
            relu = _relu_follows(tape, i, training)
            if relu:  # straight into the ReLU's block: one pass, not two
                out = _rows(acts, tape[i + 1, T_ACT], n, w_out)
            dense_forward(inp, w, b, out, relu)
        elif op == OP_RELU:
            if training and i + 1 < tape.shape[0] and tape[i + 1, T_FUSED]:
                continue  # the dropout after it applies the ReLU
            if _relu_follows(tape, i - 1, training):
                continue  # the Dense before it applied it
            relu_forward(inp, out)
        elif op == OP_SOFTMAX:
            softmax_forward(inp, out)
        elif op == OP_SIGMOID:
            sigmoid_forward(inp, out)
        elif op == OP_LINEAR:
            linear_forward(inp, out)
        elif op == OP_DROPOUT:
            if training and tape[i, T_FUSED]:
                # In place over the ReLU's input, which the layout puts in
                # this op's own block when it is a Dense output.
                if i == 1 or tape[i - 2, T_ACT] != tape[i, T_ACT]:
                    copy_values(x if i == 1 else _rows(acts, tape[i - 2, T_ACT], n, w_in),
                                out)
                relu_dropout_forward(out, keep[i])
            elif training:
                mask = _rows(masks, tape[i, T_MASK], n, w_out)
                dropout_forward(inp, keep[i], mask, out)
            else:
                copy_values(inp, out)


@jit_inline
def output_of(tape, acts, n):
    """The last op's output for a batch of ``n`` rows."""
    last = tape.shape[0] - 1
    return _rows(acts, tape[last, T_ACT], n, tape[last, T_OUT])


@jit_inline
def data_loss_sum(loss_code, sparse, out, y_int, y_float, sample_losses):
    """Sum of the batch's sample losses (float64)."""
    losses = sample_losses[:out.shape[0]]
    if loss_code == LOSS_CCE:
        if sparse:
            return cce_forward_sparse(out, y_int, losses)
        return cce_forward_onehot(out, y_float, losses)
    if loss_code == LOSS_BCE:
        return bce_forward(out, y_float, losses)
    if loss_code == LOSS_MSE:
        return mse_forward(out, y_float, losses)
    return mae_forward(out, y_float, losses)


@jit_inline
def _first_argmax(flat, start, k):
    """Index of the first maximum of ``flat[start:start + k]`` (``np.argmax``)."""
    best, best_value = 0, flat[start]
    for j in range(1, k):
        v = flat[start + j]
        if v > best_value:
            best, best_value = j, v
    return best


@jit_inline
def count_correct(acc_code, sparse, precision, out, y_int, y_float):
    """(correct, compared) for the batch: argmax, > 0.5, or within precision."""
    n, k = out.shape
    correct = 0
    if acc_code == ACC_CATEGORICAL:
        # Rows read flat, as laid out in memory (300 x 3: 0.9 -> 0.8 us)
        flat_out, flat_y = out.ravel(), y_float.ravel()
        for i in range(n):
            truth = y_int[i] if sparse else _first_argmax(flat_y, i * k, k)
            correct += _first_argmax(flat_out, i * k, k) == truth
        return correct, n
    for i in range(n):
        for j in range(k):
            if acc_code == ACC_BINARY:
                correct += (out[i, j] > 0.5) == (y_float[i, j] > 0.5)
            else:
                correct += abs(out[i, j] - y_float[i, j]) < precision
    return correct, n * k


@jit
def backward(tape, keep, regs, params, grads, acts, dacts, masks, x, loss_code,
             fused, sparse, y_int, y_float):
    """Loss gradient, then every op's backward; parameter gradients land in ``grads``."""
    n = x.shape[0]
    last = tape.shape[0] - 1
    out = output_of(tape, acts, n)
    if fused:  # softmax + CCE: the gradient with respect to the softmax input
        start = last - 1
        if start < 0:
            return  # a lone softmax has nothing to train
        dlogits = _rows(dacts, tape[start, T_ACT], n, tape[start, T_OUT])
        if sparse:
            softmax_cce_backward_sparse(out, y_int, dlogits)
        else:
            softmax_cce_backward_onehot(out, y_float, dlogits)
    else:
        start = last
        dout = _rows(dacts, tape[last, T_ACT], n, tape[last, T_OUT])
        if loss_code == LOSS_CCE:
            if sparse:
                cce_backward_sparse(out, y_int, dout)
            else:
                cce_backward_onehot(out, y_float, dout)
        elif loss_code == LOSS_BCE:
            bce_backward(out, y_float, dout)
        elif loss_code == LOSS_MSE:
            mse_backward(out, y_float, dout)
        else:
            mae_backward(out, y_float, dout)
    i = start
    while i >= 0:
        op, w_in, w_out = tape[i, T_OP], tape[i, T_IN], tape[i, T_OUT]
        dout = _rows(dacts, tape[i, T_ACT], n, w_out)
        if i == 0:
            if op != OP_DENSE:
                break  # nothing upstream needs this gradient
            inp, din = x, dout  # din is not written when need_dinputs is False
        else:
            inp = _rows(acts, tape[i - 1, T_ACT], n, w_in)
            din = _rows(dacts, tape[i - 1, T_ACT], n, w_in)
        if op == OP_DENSE:
            d = tape[i, T_DENSE]
            w = _rows(params, tape[i, T_W], w_in, w_out)
            b = _rows(params, tape[i, T_B], 1, w_out)
            dw = _rows(grads, tape[i, T_W], w_in, w_out)
            db = _rows(grads, tape[i, T_B], 1, w_out)
            # Through this Dense and the ReLU before it (or the ReLU and
            # dropout, see T_FUSED) in one kernel when there is
            # one: the gradient lands where the ReLU's backward would put it.
            # One call site with run-time flags, so that Numba compiles
            # dense_backward_any once (literal True/False arguments would
            # each compile a copy: 1.2 s of a cold start).
            masked = 0  # ops folded into this backward: 1 ReLU, 2 ReLU + dropout
            mask_scale = 1.0
            if i >= 2 and tape[i - 1, T_FUSED]:
                masked = 2
                mask_scale = 1.0 / keep[i - 1]  # as dropout_forward's scale
            elif i >= 1 and tape[i - 1, T_OP] == OP_RELU:
                masked = 1
            need_dinputs = i - masked > 0
            if masked and need_dinputs:
                din = _rows(dacts, tape[i - masked - 1, T_ACT], n, w_in)
            dense_backward_any(inp, w, b, dout, regs[d, 0], regs[d, 1], regs[d, 2],
                               regs[d, 3], dw, db, din, need_dinputs, masked > 0,
                               mask_scale)
            i -= 1 + masked
            continue
        elif op == OP_RELU:
            # The ReLU's output is > 0 exactly where its input was.
            relu_backward(_rows(acts, tape[i, T_ACT], n, w_out), dout, din)
        elif op == OP_SOFTMAX:
            softmax_backward(_rows(acts, tape[i, T_ACT], n, w_out), dout, din)
        elif op == OP_SIGMOID:
            sigmoid_backward(_rows(acts, tape[i, T_ACT], n, w_out), dout, din)
        elif op == OP_LINEAR:
            linear_backward(dout, din)
        else:
            dropout_backward(dout, _rows(masks, tape[i, T_MASK], n, w_out), din)
        i -= 1


@jit_inline
def regularization_sum(tape, regs, params):
    """Total L1/L2 penalty of the current parameters."""
    total = 0.0
    for i in range(tape.shape[0]):
        if tape[i, T_OP] == OP_DENSE:
            d, w_in, w_out = tape[i, T_DENSE], tape[i, T_IN], tape[i, T_OUT]
            total += regularization_loss(_rows(params, tape[i, T_W], w_in, w_out),
                                         regs[d, 0], regs[d, 1])
            total += regularization_loss(_rows(params, tape[i, T_B], 1, w_out),
                                         regs[d, 2], regs[d, 3])
    return total


@jit_inline
def optimizer_step(opt_code, hyper, opt_state, params, grads, state1, state2):
    """One update of the whole arena, with the book's decay and step count."""
    iterations = opt_state[0]
    learning_rate = hyper[0]
    if hyper[1]:
        learning_rate = decayed_learning_rate(hyper[0], hyper[1], iterations)
    opt_state[1] = learning_rate
    if opt_code == OPT_SGD:
        sgd_update(params, grads, learning_rate)
    elif opt_code == OPT_SGD_MOMENTUM:
        sgd_momentum_update(params, grads, state1, learning_rate, hyper[2])
    elif opt_code == OPT_ADAGRAD:
        adagrad_update(params, grads, state1, learning_rate, hyper[2])
    elif opt_code == OPT_RMSPROP:
        rmsprop_update(params, grads, state1, learning_rate, hyper[2], hyper[3])
    else:
        adam_update(params, grads, state1, state2, learning_rate, hyper[2],
                    hyper[3], hyper[4], iterations + 1)
    opt_state[0] = iterations + 1


@jit
def evaluate_batches(tape, keep, params, acts, masks, sample_losses, loss_code,
                     sparse, acc_code, precision, X, y_int, y_float, batch_size):
    """``(loss_sum, correct, compared)`` over (X, y) in inference mode.

    The sums, not the means, so that Python can add up several calls (one
    per piece of a large input) and divide once, as the book does.
    """
    n = X.shape[0]
    loss_sum, correct, compared = 0.0, 0, 0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        x = X[start:stop]
        yi, yf = y_int[start:stop] if sparse else y_int, y_float[start:stop]
        # training=False as a run-time bool (see train_epochs)
        forward(tape, keep, params, acts, masks, x, batch_size < 0)
        out = output_of(tape, acts, stop - start)
        loss_sum += data_loss_sum(loss_code, sparse, out, yi, yf, sample_losses)
        c, m = count_correct(acc_code, sparse, precision, out, yi, yf)
        correct += c
        compared += m
    return loss_sum, correct, compared


@jit
def predict_batches(tape, keep, params, acts, masks, X, batch_size, outputs):
    """Write the network's outputs for every row of ``X`` into ``outputs``."""
    n = X.shape[0]
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        forward(tape, keep, params, acts, masks, X[start:stop], batch_size < 0)
        copy_values(output_of(tape, acts, stop - start), outputs[start:stop])


@jit_inline
def watch_epoch(watch, row, params, state1, state2, opt_state, snapshot):
    """Early stopping's test after an epoch whose figures are ``row``; True: stop.

    The monitored figure improved when it is below ``best - min_delta``
    (minimising) or above ``best + min_delta`` (maximising); the first epoch
    always counts as the best so far, and a NaN never improves. On an
    improvement, ``snapshot`` (when it has room) receives ``params``,
    ``state1`` and ``state2`` end to end, and ``watch`` the optimizer's
    iterations and learning rate. Training stops once ``patience`` epochs in
    a row have not improved.
    """
    watch[W_SEEN] += 1.0
    value, best, delta = row[int(watch[W_COLUMN])], watch[W_BEST], watch[W_MIN_DELTA]
    if watch[W_SIGN] > 0:
        better = value < best - delta
    else:
        better = value > best + delta
    if not (watch[W_BEST_EPOCH] == 0.0 or better):
        watch[W_WAIT] += 1.0
        return watch[W_WAIT] >= watch[W_PATIENCE]
    watch[W_BEST], watch[W_WAIT], watch[W_BEST_EPOCH] = value, 0.0, watch[W_SEEN]
    if snapshot.size > 0:
        p, s1 = params.size, state1.size
        copy_values(params, snapshot[:p])
        copy_values(state1, snapshot[p:p + s1])
        copy_values(state2, snapshot[p + s1:p + s1 + state2.size])
        watch[W_ITERATIONS], watch[W_LEARNING_RATE] = opt_state[0], opt_state[1]
    return False


@jit
def train_epochs(tape, keep, regs, params, grads, state1, state2, acts, dacts,
                 masks, sample_losses, x_buffer, y_int_buffer, y_float_buffer,
                 loss_code, fused, sparse, acc_code, precision, opt_code, hyper,
                 opt_state, X, y_int, y_float, X_val, y_val_int, y_val_float,
                 epochs, batch_size, shuffle, order, stats, print_steps, step_stats,
                 stop, watch, snapshot):
    """Train for ``epochs`` epochs; return how many finished with a finite loss.

    Each epoch: optionally shuffle ``order`` (compiled RNG), then for each
    batch (the last one may be partial) forward, loss, accuracy, backward and
    one optimizer step; then the regularisation loss of the final parameters
    (as the book's ``calculate_accumulated``) and, when ``X_val`` has rows,
    the validation loss and accuracy. Row ``e`` of ``stats`` receives epoch
    ``e``'s figures (columns ``S_*``). Training stops after the first epoch
    whose loss is not finite.

    With ``print_steps`` > 0, the steps the book prints (step 0, every
    ``print_steps``-th and the last of each epoch) also leave their figures
    in the next row of ``step_stats`` (columns ``STEP_*``), so Python prints
    them without being entered per step; with 0 nothing is recorded.

    Before each step it reads ``stop[0]``, which another thread sets on
    Ctrl-C (``jitnet._interrupt``): when set, it returns the number of whole
    epochs done, the parameters and optimizer state being those after the
    last step taken.

    With ``watch[W_COLUMN] >= 0``, early stopping runs after every epoch
    (:func:`watch_epoch`): when it stops training, ``watch[W_STOPPED]`` is
    set and the epochs done are returned.
    """
    n = X.shape[0]
    steps = (n + batch_size - 1) // batch_size
    step_row = 0
    for epoch in range(epochs):
        if shuffle:
            np.random.shuffle(order)
        loss_sum, correct, compared = 0.0, 0, 0
        for start in range(0, n, batch_size):
            if stop[0]:
                return epoch
            end = min(start + batch_size, n)
            rows = end - start
            if shuffle:  # gather the batch's rows into the buffers
                x = _rows(x_buffer, 0, rows, X.shape[1])
                yf = _rows(y_float_buffer, 0, rows, y_float.shape[1]) \
                    if not sparse else y_float
                yi = y_int_buffer[:rows] if sparse else y_int
                for r in range(rows):
                    src = order[start + r]
                    copy_values(X[src], x[r])
                    if sparse:
                        yi[r] = y_int[src]
                    else:
                        copy_values(y_float[src], yf[r])
            else:
                x = X[start:end]
                yi = y_int[start:end] if sparse else y_int
                yf = y_float[start:end] if not sparse else y_float
            # training=True as a run-time bool (batch_size is positive): a
            # literal True here and False elsewhere would compile forward twice.
            forward(tape, keep, params, acts, masks, x, batch_size > 0)
            out = output_of(tape, acts, rows)
            batch_loss = data_loss_sum(loss_code, sparse, out, yi, yf, sample_losses)
            loss_sum += batch_loss
            c, m = count_correct(acc_code, sparse, precision, out, yi, yf)
            correct += c
            compared += m
            step = start // batch_size
            printed = print_steps > 0 and (step % print_steps == 0 or step == steps - 1)
            if printed:  # before the update, as the book's loss.calculate
                reg = regularization_sum(tape, regs, params)
                step_stats[step_row, STEP_NUMBER] = step
                step_stats[step_row, STEP_DATA_LOSS] = batch_loss / rows
                step_stats[step_row, STEP_REG_LOSS] = reg
                step_stats[step_row, STEP_LOSS] = batch_loss / rows + reg
                step_stats[step_row, STEP_ACCURACY] = c / m
            backward(tape, keep, regs, params, grads, acts, dacts, masks, x,
                     loss_code, fused, sparse, yi, yf)
            optimizer_step(opt_code, hyper, opt_state, params, grads, state1, state2)
            if printed:
                step_stats[step_row, STEP_LEARNING_RATE] = opt_state[1]
                step_row += 1
        data_loss = loss_sum / n
        reg_loss = regularization_sum(tape, regs, params)
        stats[epoch, S_LOSS] = data_loss + reg_loss
        stats[epoch, S_DATA_LOSS] = data_loss
        stats[epoch, S_REG_LOSS] = reg_loss
        stats[epoch, S_ACCURACY] = correct / compared
        stats[epoch, S_LEARNING_RATE] = opt_state[1]
        if X_val.shape[0] > 0:
            val_loss_sum, val_correct, val_compared = evaluate_batches(
                tape, keep, params, acts, masks, sample_losses, loss_code,
                sparse, acc_code, precision, X_val, y_val_int, y_val_float,
                batch_size)
            stats[epoch, S_VAL_LOSS] = val_loss_sum / X_val.shape[0]
            stats[epoch, S_VAL_ACCURACY] = val_correct / val_compared
        if not is_finite(data_loss + reg_loss):
            return epoch + 1
        if watch[W_COLUMN] >= 0 and watch_epoch(watch, stats[epoch], params, state1,
                                                 state2, opt_state, snapshot):
            watch[W_STOPPED] = 1.0
            return epoch + 1
    return epochs
