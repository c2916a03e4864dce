"""Dense layer kernels: ``output = inputs @ weights + biases`` and its gradients.

How each product runs is chosen per call by shape, from measurements:

* large products go to BLAS through :func:`~.blas.gemm` (:data:`BLAS_MIN_FLOPS`);
* otherwise the innermost loop runs along the wider weight axis, contiguous in
  memory, so LLVM vectorises it: row updates (``out[i, :] += x[i, k] *
  w[k, :]``) for wide layers; for narrow ones (few outputs), dot products
  with local accumulators over a transposed copy of the weights, GROUP
  outputs per pass over an input row. Run the wide way, a 3-output layer was
  15-20x slower: the accumulator lives in memory LLVM must assume aliases
  the inputs;
* weight gradients accumulate several samples per pass over a row (fewer
  stores): four for wide layers, two times GROUP outputs for narrow ones; a
  wide layer's first two rows and its bias sums share one pass;
* the input gradient of a layer with at most GROUP outputs is one pass per
  input row with the ReLU mask applied in it; other narrow layers use BLAS;
* a wide layer with one or two inputs (the first layer of the book's spiral
  and sine data) gets its three gradients from one pass over ``dvalues`` in
  :func:`few_inputs_dense_backward`, which the per-layer ``Dense`` calls
  for it (a kernel of its own: see its docstring).

Measured on the 2-core EPYC dev machine, float32, microseconds per call
(``python -m jitnet bench``, ``benchmarks/bench_kernels.py``): forward
300x64 @ 64x3, 76 the wide way, 3.6 with one dot product per pass, 2.3 with
GROUP; 300x2 @ 2x64, 5.6 vs 29; the spiral's output layer backward through
its ReLU (300x64 inputs, 3 outputs), 11.9 with BLAS for the input gradient
and one output per weight-gradient pass, 5.6 now. Grouping loses for a
single output (no group to share the loads), so leftovers of one or two
outputs run one at a time.
"""
import numpy as np

from ._jit import jit, jit_inline
from .blas import gemm

#: Products with at least this many multiply-adds go to BLAS. Below it, entering
#: BLAS (argument checks, thread hand-off) costs more than the loops; measured
#: with benchmarks/bench_kernels.py (the loops win up to about 64x128x128).
BLAS_MIN_FLOPS = 1_000_000

#: ... but only when both weight dimensions are wider than this. With two
#: inputs (chapter 18's first layer, 3000x2 @ 2x512) or three outputs (its
#: second, 3000x512 @ 512x3) BLAS has too little to block over, and the
#: loops do in one pass what BLAS then a bias or mask pass do in two.
BLAS_MIN_WIDTH = 4

#: A weight dimension at least this wide makes a good vectorised inner loop.
WIDE = 16

#: Outputs a narrow layer's loops compute per pass over an input row: three
#: accumulators share each load of the row (the spiral's output layer has 3).
GROUP = 3


# The private helpers below are inlined by Numba into dense_forward and
# _backward (see jit_inline): compiled on their own, each was one more
# compilation whose code the callers' modules then re-optimised.


@jit_inline
def _use_blas(n, n_in, n_out):
    """True when the product goes to BLAS (:data:`BLAS_MIN_FLOPS`, :data:`BLAS_MIN_WIDTH`)."""
    return n * n_in * n_out >= BLAS_MIN_FLOPS and min(n_in, n_out) >= BLAS_MIN_WIDTH


@jit_inline
def _wide(n_in, n_out):
    """True when the inner loops should run over the ``n_out`` dimension."""
    return n_out >= WIDE or n_out >= n_in


@jit_inline
def _accumulate_row(a, r, b, row):
    """``row[:] = a[:, r] @ b``; return ``sum(a[:, r])``.

    Four samples are combined per pass over the row, so each element of
    ``row`` is stored a quarter as often; the inner loop runs along ``b``'s
    rows.
    """
    n, m = b.shape
    zero = row.dtype.type(0)
    total = zero
    for j in range(m):
        row[j] = zero
    i = 0
    while i + 4 <= n:
        a0, a1, a2, a3 = a[i, r], a[i + 1, r], a[i + 2, r], a[i + 3, r]
        b0, b1, b2, b3 = b[i], b[i + 1], b[i + 2], b[i + 3]
        total += a0 + a1 + a2 + a3
        for j in range(m):
            row[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j]
        i += 4
    while i < n:
        a0, b0 = a[i, r], b[i]
        total += a0
        for j in range(m):
            row[j] += a0 * b0[j]
        i += 1
    return total


@jit_inline
def _column_sums(b, sums):
    """``sums[:] = b.sum(axis=0)``, four rows per pass over ``sums``.

    Written through a row view, not ``dbiases[0, j]``, which LLVM did not
    vectorise: 1000x64 float32, 2.8-3.6 us against 9.7 us (the bias gradient
    of chapter 17's BLAS-sized 64 -> 64 layer); 300x64 1.2 against 3.4.
    """
    n, m = b.shape
    zero = sums.dtype.type(0)
    for j in range(m):
        sums[j] = zero
    i = 0
    while i + 4 <= n:
        b0, b1, b2, b3 = b[i], b[i + 1], b[i + 2], b[i + 3]
        for j in range(m):
            sums[j] += b0[j] + b1[j] + b2[j] + b3[j]
        i += 4
    while i < n:
        b0 = b[i]
        for j in range(m):
            sums[j] += b0[j]
        i += 1


@jit_inline
def _first_rows_and_sums(a, b, row0, row1, sums):
    """``row0[:] = a[:, 0] @ b``, ``row1[:] = a[:, 1] @ b``, ``sums[:]`` = column sums of ``b``.

    One pass over ``b`` for all three, four samples at a time: the spiral's
    first layer (300x2 inputs, 64 outputs) took 4.3 us in three passes (a
    row each, then the sums), 2.3 us in this one.
    """
    n, m = b.shape
    zero = row0.dtype.type(0)
    for j in range(m):
        row0[j], row1[j], sums[j] = zero, zero, zero
    i = 0
    while i + 4 <= n:
        b0, b1, b2, b3 = b[i], b[i + 1], b[i + 2], b[i + 3]
        p0, p1, p2, p3 = a[i, 0], a[i + 1, 0], a[i + 2, 0], a[i + 3, 0]
        q0, q1, q2, q3 = a[i, 1], a[i + 1, 1], a[i + 2, 1], a[i + 3, 1]
        for j in range(m):
            u0, u1, u2, u3 = b0[j], b1[j], b2[j], b3[j]
            row0[j] += p0 * u0 + p1 * u1 + p2 * u2 + p3 * u3
            row1[j] += q0 * u0 + q1 * u1 + q2 * u2 + q3 * u3
            sums[j] += u0 + u1 + u2 + u3
        i += 4
    while i < n:
        b0, p0, q0 = b[i], a[i, 0], a[i, 1]
        for j in range(m):
            row0[j] += p0 * b0[j]
            row1[j] += q0 * b0[j]
            sums[j] += b0[j]
        i += 1


@jit_inline
def _padded_transpose(weights):
    """``weights.T`` (C order) with zero rows added up to a multiple of GROUP."""
    n_in, n_out = weights.shape
    groups = (n_out + GROUP - 1) // GROUP
    # np.empty and a fill, not np.zeros: nnfs.init() replaces np.zeros.
    wt = np.empty((groups * GROUP, n_in), weights.dtype)
    for k in range(n_in):
        for j in range(n_out):
            wt[j, k] = weights[k, j]
    for j in range(n_out, groups * GROUP):
        for k in range(n_in):
            wt[j, k] = 0
    return wt


@jit_inline
def _padded(row, j, n_out):
    """``row[j]``, or zero for the padding outputs ``j >= n_out``."""
    return row[j] if j < n_out else row.dtype.type(0)


@jit_inline
def _relu_if(relu, v, zero):
    """``max(0, v)`` as ``relu_forward`` computes it (NaN gives 0) when
    ``relu``, else ``v``: the forward's fused ReLU, one select with the flag
    in its condition, so a loop serves both settings."""
    return v if (v > zero or not relu) else zero


@jit_inline
def _few_inputs_forward(inputs, weights, biases, output, relu):
    """``output = inputs @ weights + biases`` for one or two inputs (the first
    layer of the book's spiral and sine data), in one pass over the output;
    with ``relu``, ``max(0, .)`` of it in the same pass.

    The output is indexed as one flat array rather than through a row view
    per sample: LLVM's set-up of each row's vectorised loop then costs less,
    which matters when rows are short. x86-64-v3 code on a Zen 4, float32:
    300x2 @ 2x64 2.2 us against 4.1 us per row view; 1000x1 @ 1x64 5.8
    against 8.4; 3000x2 @ 2x512 120 against 135.
    """
    n, n_in = inputs.shape
    n_out = output.shape[1]
    flat, b, w0 = output.ravel(), biases[0], weights[0]
    zero = output.dtype.type(0)
    # One loop for both settings of the flag (_relu_if): less code for every
    # caller's module to optimise.
    if n_in == 2:
        w1 = weights[1]
        for i in range(n):
            a0, a1, start = inputs[i, 0], inputs[i, 1], i * n_out
            for j in range(n_out):
                flat[start + j] = _relu_if(relu, b[j] + a0 * w0[j] + a1 * w1[j], zero)
    else:
        for i in range(n):
            a0, start = inputs[i, 0], i * n_out
            for j in range(n_out):
                flat[start + j] = _relu_if(relu, b[j] + a0 * w0[j], zero)


@jit_inline
def _row_updates_forward(inputs, weights, biases, output, relu):
    """``output = inputs @ weights + biases`` for three inputs or more, by row
    updates, two inputs per pass: half the stores of one input per pass
    (300x2 @ 2x64, before :func:`_few_inputs_forward`: 3.1 us against 6.3 us).
    With ``relu``, each row is clipped at zero while it is still in cache.
    """
    n, n_in = inputs.shape
    n_out = output.shape[1]
    zero = output.dtype.type(0)
    for i in range(n):
        row, x = output[i], inputs[i]
        a0, a1, w0, w1 = x[0], x[1], weights[0], weights[1]
        for j in range(n_out):
            row[j] = biases[0, j] + a0 * w0[j] + a1 * w1[j]
        k = 2
        while k + 2 <= n_in:
            a0, a1, w0, w1 = x[k], x[k + 1], weights[k], weights[k + 1]
            for j in range(n_out):
                row[j] += a0 * w0[j] + a1 * w1[j]
            k += 2
        while k < n_in:
            a0, w0 = x[k], weights[k]
            for j in range(n_out):
                row[j] += a0 * w0[j]
            k += 1
        if relu:  # (a pass, so only when asked)
            for j in range(n_out):
                row[j] = _relu_if(True, row[j], zero)


@jit_inline
def _narrow_forward(inputs, wt, biases, output, relu):
    """``output = inputs @ wt[:n_out].T + biases`` (``max(0, .)`` of it with
    ``relu``) for few outputs.

    Whole groups of GROUP outputs share each load of the input row (three
    accumulators); the one or two outputs left over get a dot product each
    (padding them to a group cost 2x for a single output). Groups are the
    outer loop, so each group's weight rows are set up once, not per input
    row (300x64 @ 64x3: 2.3 us against 3.6 us the other way round).
    """
    n, n_in = inputs.shape
    n_out = output.shape[1]
    grouped = n_out - n_out % GROUP
    zero = inputs.dtype.type(0)
    for g in range(0, grouped, GROUP):
        w0, w1, w2 = wt[g], wt[g + 1], wt[g + 2]
        c0, c1, c2 = biases[0, g], biases[0, g + 1], biases[0, g + 2]
        for i in range(n):
            x = inputs[i]
            a0, a1, a2 = zero, zero, zero
            for k in range(n_in):
                v = x[k]
                a0 += v * w0[k]
                a1 += v * w1[k]
                a2 += v * w2[k]
            output[i, g] = _relu_if(relu, a0 + c0, zero)
            output[i, g + 1] = _relu_if(relu, a1 + c1, zero)
            output[i, g + 2] = _relu_if(relu, a2 + c2, zero)
    for j in range(grouped, n_out):
        w0, c0 = wt[j], biases[0, j]
        for i in range(n):
            x = inputs[i]
            a0 = zero
            for k in range(n_in):
                a0 += x[k] * w0[k]
            output[i, j] = _relu_if(relu, a0 + c0, zero)


@jit_inline
def _narrow_weight_gradient(inputs, dvalues, dweights, dbiases):
    """``dweights = inputs.T @ dvalues`` and ``dbiases`` = column sums, few outputs.

    Accumulates in the transposed layout and copies back: whole groups of
    GROUP rows of length ``n_in`` per pass, two samples at a time; the one or
    two rows left over four samples at a time. The bias sums ride along in
    local accumulators.
    """
    n, n_in = inputs.shape
    n_out = dvalues.shape[1]
    grouped = n_out - n_out % GROUP
    dwt = np.empty((n_out, n_in), dweights.dtype)
    zero = dweights.dtype.type(0)
    for g in range(0, grouped, GROUP):
        g0, g1, g2 = dwt[g], dwt[g + 1], dwt[g + 2]
        for k in range(n_in):
            g0[k], g1[k], g2[k] = zero, zero, zero
        s0, s1, s2 = zero, zero, zero
        i = 0
        while i + 2 <= n:
            xa, xb = inputs[i], inputs[i + 1]
            a0, a1, a2 = dvalues[i, g], dvalues[i, g + 1], dvalues[i, g + 2]
            b0, b1, b2 = dvalues[i + 1, g], dvalues[i + 1, g + 1], dvalues[i + 1, g + 2]
            s0 += a0 + b0
            s1 += a1 + b1
            s2 += a2 + b2
            for k in range(n_in):
                u, v = xa[k], xb[k]
                g0[k] += a0 * u + b0 * v
                g1[k] += a1 * u + b1 * v
                g2[k] += a2 * u + b2 * v
            i += 2
        if i < n:  # an odd sample out
            xa = inputs[i]
            a0, a1, a2 = dvalues[i, g], dvalues[i, g + 1], dvalues[i, g + 2]
            s0 += a0
            s1 += a1
            s2 += a2
            for k in range(n_in):
                u = xa[k]
                g0[k] += a0 * u
                g1[k] += a1 * u
                g2[k] += a2 * u
        dbiases[0, g], dbiases[0, g + 1], dbiases[0, g + 2] = s0, s1, s2
    for j in range(grouped, n_out):
        dbiases[0, j] = _accumulate_row(dvalues, j, inputs, dwt[j])
    for j in range(n_out):
        for k in range(n_in):
            dweights[k, j] = dwt[j, k]


@jit_inline
def _narrow_input_gradient(dvalues, wt, inputs, dinputs, relu_inputs, mask_scale):
    """``dinputs = dvalues @ wt[:n_out]`` (times ``mask_scale * (inputs > 0)``
    when ``relu_inputs``).

    For at most GROUP outputs (``wt`` zero-padded to GROUP rows): one pass
    over each input row, with the ReLU mask applied in that same pass.
    """
    n, n_in = dinputs.shape
    n_out = dvalues.shape[1]
    zero, scale = dinputs.dtype.type(0), dinputs.dtype.type(mask_scale)
    w0, w1, w2 = wt[0], wt[1], wt[2]
    for i in range(n):
        d, x, row = dvalues[i], inputs[i], dinputs[i]
        d0, d1, d2 = d[0], _padded(d, 1, n_out), _padded(d, 2, n_out)
        if relu_inputs:
            # A 0/1 factor, not `v if x > 0 else 0`, which LLVM may turn into
            # a conditional or masked store (slow; see _backward).
            for k in range(n_in):
                row[k] = (d0 * w0[k] + d1 * w1[k] + d2 * w2[k]) * (
                    scale if x[k] > zero else zero)
        else:
            for k in range(n_in):
                row[k] = d0 * w0[k] + d1 * w1[k] + d2 * w2[k]


@jit_inline
def _put_four(dinputs, i, k, a0, a1, a2, a3):
    """``dinputs[i:i + 4, k] = a0, a1, a2, a3``."""
    dinputs[i, k] = a0
    dinputs[i + 1, k] = a1
    dinputs[i + 2, k] = a2
    dinputs[i + 3, k] = a3


@jit_inline
def _few_inputs_backward(inputs, weights, dvalues, dweights, dbiases, dinputs):
    """All three gradients of a layer with one or two inputs in one pass over
    ``dvalues``, four samples at a time: ``dweights = inputs.T @ dvalues``,
    ``dbiases`` = column sums, and ``dinputs = dvalues @ weights.T`` from
    accumulators that share the same loads.

    The first layer of the book's spiral and sine scripts, whose per-layer
    loops ask for ``dinputs`` too. Standalone loops, float32, best of 7, against
    the weight-gradient pass then one dot product per input value: 200x2 ->
    64 1.55 against 2.6-3.0 us; 300x2 -> 64 2.4-3.8 against 4.4-6.7; 3000x2
    -> 512 137 against 293.
    """
    n, n_in = inputs.shape
    m = dvalues.shape[1]
    zero = dweights.dtype.type(0)
    row0, sums, w0 = dweights[0], dbiases[0], weights[0]
    for j in range(m):
        row0[j], sums[j] = zero, zero
    i = 0
    if n_in == 2:
        row1, w1 = dweights[1], weights[1]
        for j in range(m):
            row1[j] = zero
        while i + 4 <= n:
            b0, b1, b2, b3 = dvalues[i], dvalues[i + 1], dvalues[i + 2], dvalues[i + 3]
            p0, p1, p2, p3 = inputs[i, 0], inputs[i + 1, 0], inputs[i + 2, 0], inputs[i + 3, 0]
            q0, q1, q2, q3 = inputs[i, 1], inputs[i + 1, 1], inputs[i + 2, 1], inputs[i + 3, 1]
            a0, a1, a2, a3 = zero, zero, zero, zero  # dinputs[i:i + 4, 0]
            c0, c1, c2, c3 = zero, zero, zero, zero  # dinputs[i:i + 4, 1]
            for j in range(m):
                u0, u1, u2, u3 = b0[j], b1[j], b2[j], b3[j]
                row0[j] += p0 * u0 + p1 * u1 + p2 * u2 + p3 * u3
                row1[j] += q0 * u0 + q1 * u1 + q2 * u2 + q3 * u3
                sums[j] += u0 + u1 + u2 + u3
                s, t = w0[j], w1[j]
                a0 += u0 * s
                a1 += u1 * s
                a2 += u2 * s
                a3 += u3 * s
                c0 += u0 * t
                c1 += u1 * t
                c2 += u2 * t
                c3 += u3 * t
            _put_four(dinputs, i, 0, a0, a1, a2, a3)
            _put_four(dinputs, i, 1, c0, c1, c2, c3)
            i += 4
    else:
        while i + 4 <= n:
            b0, b1, b2, b3 = dvalues[i], dvalues[i + 1], dvalues[i + 2], dvalues[i + 3]
            p0, p1, p2, p3 = inputs[i, 0], inputs[i + 1, 0], inputs[i + 2, 0], inputs[i + 3, 0]
            a0, a1, a2, a3 = zero, zero, zero, zero
            for j in range(m):
                u0, u1, u2, u3 = b0[j], b1[j], b2[j], b3[j]
                row0[j] += p0 * u0 + p1 * u1 + p2 * u2 + p3 * u3
                sums[j] += u0 + u1 + u2 + u3
                s = w0[j]
                a0 += u0 * s
                a1 += u1 * s
                a2 += u2 * s
                a3 += u3 * s
            _put_four(dinputs, i, 0, a0, a1, a2, a3)
            i += 4
    while i < n:  # the last one to three samples
        b0 = dvalues[i]
        for k in range(n_in):
            p0, row, w = inputs[i, k], dweights[k], weights[k]
            acc = zero
            for j in range(m):
                row[j] += p0 * b0[j]
                acc += b0[j] * w[j]
            dinputs[i, k] = acc
        for j in range(m):
            sums[j] += b0[j]
        i += 1


@jit
def dense_forward(inputs, weights, biases, output, relu):
    """``output[:] = inputs @ weights + biases``; with ``relu``, ``max(0, .)``
    of it in the same pass.

    The Model's program runs a Dense and the ReLU after it this way: one pass
    over the output, not two (spiral 2-64-3 ``Model`` epoch, medians of 8
    interleaved runs: 16.8 -> 15.9 us). The ReLU is the expression of
    ``relu_forward`` (NaN gives 0), so fused and separate runs give the same
    bits. A run-time flag, not two functions: the per-layer
    ``Dense.forward`` (``relu=False``) and the program share one compilation
    (a second one added 2.6-3.4 s to a first ``Model.train`` with nothing
    shipped).

    Parameters
    ----------
    inputs : (n, n_in) float array, C-contiguous
    weights : (n_in, n_out) same dtype
    biases : (1, n_out) same dtype
    output : (n, n_out) same dtype, written
    relu : bool
    """
    n, n_in = inputs.shape
    n_out = weights.shape[1]
    zero = output.dtype.type(0)
    if _use_blas(n, n_in, n_out):
        gemm(inputs, False, weights, False, output)
        for i in range(n):
            row = output[i]
            for j in range(n_out):
                row[j] = _relu_if(relu, row[j] + biases[0, j], zero)
    elif not _wide(n_in, n_out):
        _narrow_forward(inputs, _padded_transpose(weights), biases, output, relu)
    elif n_in <= 2:
        _few_inputs_forward(inputs, weights, biases, output, relu)
    else:
        _row_updates_forward(inputs, weights, biases, output, relu)


@jit
def _backward(inputs, weights, biases, dvalues, weight_l1, weight_l2, bias_l1,
              bias_l2, dweights, dbiases, dinputs, need_dinputs, relu_inputs,
              mask_scale):
    """The body of :func:`dense_backward` and :func:`relu_dense_backward`.

    With ``relu_inputs``, ``dinputs`` is multiplied by ``mask_scale`` where
    ``inputs > 0`` and zeroed elsewhere: 1 for a ReLU before this layer; for
    a ReLU then dropout (the Model's program), ``1 / keep_rate``, the dropout
    output being > 0 exactly where both kept the value.
    """
    n, n_in = inputs.shape
    n_out = weights.shape[1]
    big = _use_blas(n, n_in, n_out)
    wide = _wide(n_in, n_out)
    zero = inputs.dtype.type(0)
    # dweights = inputs.T @ dvalues, inner loop along the wider axis
    if big:
        gemm(inputs, True, dvalues, False, dweights)
    elif wide:  # row updates dweights[r, :] += inputs[i, r] * dvalues[i, :]
        first = 0
        if n_in >= 2:  # the first two rows and dbiases in one pass
            _first_rows_and_sums(inputs, dvalues, dweights[0], dweights[1], dbiases[0])
            first = 2
        for r in range(first, n_in):
            _accumulate_row(inputs, r, dvalues, dweights[r])
    else:
        _narrow_weight_gradient(inputs, dvalues, dweights, dbiases)
    if big or (wide and n_in < 2):  # dbiases = column sums of dvalues
        _column_sums(dvalues, dbiases[0])
    add_regularization_gradient(weights, weight_l1, weight_l2, dweights)
    add_regularization_gradient(biases, bias_l1, bias_l2, dbiases)
    if not need_dinputs:
        return
    # dinputs = dvalues @ weights.T (times the ReLU mask inputs > 0)
    scale = inputs.dtype.type(mask_scale)
    if wide and not big:  # dot products over the wide n_out axis
        for i in range(n):
            d = dvalues[i]
            for k in range(n_in):
                if relu_inputs and not inputs[i, k] > zero:
                    dinputs[i, k] = zero
                    continue
                w = weights[k]
                acc = zero
                for j in range(n_out):
                    acc += d[j] * w[j]
                dinputs[i, k] = acc * scale  # scale is 1 without a mask
        return
    if not big and n_out <= GROUP:  # very narrow: loops, the mask fused in
        _narrow_input_gradient(dvalues, _padded_transpose(weights), inputs,
                               dinputs, relu_inputs, mask_scale)
        return
    # Large, or narrow with more outputs than GROUP: BLAS won against every
    # loop order we tried there (128x10 @ 10x128 with the mask: 8.4 us in
    # BLAS, 10.2 us in groups of three).
    gemm(dvalues, False, weights, True, dinputs)
    if relu_inputs:
        # Multiply by a 0/1 mask rather than `row[k] if x[k] > 0 else 0`:
        # LLVM turns that into a conditional store, a branch per element that
        # mispredicts on ReLU patterns (measured 3x slower). Only an infinite
        # gradient behaves differently (inf * 0 is NaN, not 0), and by then the
        # loss is not finite and training stops with FloatingPointError.
        for i in range(n):
            row, x = dinputs[i], inputs[i]
            for k in range(n_in):
                row[k] *= scale if x[k] > zero else zero


@jit
def dense_backward(inputs, weights, biases, dvalues, weight_l1, weight_l2,
                   bias_l1, bias_l2, dweights, dbiases, dinputs, need_dinputs):
    """Gradients of a dense layer, with L1/L2 regularisation fused in.

    ``dweights = inputs.T @ dvalues + l1 * sign(weights) + 2 * l2 * weights``
    (sign(0) taken as +1, as the book's ``np.ones_like`` mask does),
    ``dbiases = sum(dvalues, axis=0) + ...`` likewise, and
    ``dinputs = dvalues @ weights.T`` when ``need_dinputs``.

    Parameters
    ----------
    inputs : (n, n_in) float array
    weights : (n_in, n_out)
    biases : (1, n_out)
    dvalues : (n, n_out)
    weight_l1, weight_l2, bias_l1, bias_l2 : float scalars, >= 0
    dweights : (n_in, n_out), written
    dbiases : (1, n_out), written
    dinputs : (n, n_in), written only when ``need_dinputs`` (the first layer
        of a network has no use for it)
    need_dinputs : bool
    """
    _backward(inputs, weights, biases, dvalues, weight_l1, weight_l2, bias_l1,
              bias_l2, dweights, dbiases, dinputs, need_dinputs, False, 1.0)


@jit
def few_inputs_dense_backward(inputs, weights, biases, dvalues, weight_l1, weight_l2,
                              bias_l1, bias_l2, dweights, dbiases, dinputs):
    """:func:`dense_backward` with ``need_dinputs`` for a layer of one or two
    inputs, all three gradients from one pass over ``dvalues``.

    The per-layer ``Dense.backward`` calls it for such layers with at least
    as many outputs as inputs (the first layer of the book's spiral and sine
    scripts); any other shape goes to :func:`dense_backward`. A kernel of its
    own rather than a branch of :func:`_backward`: inside it, it made that
    kernel's compilation 3.4 s longer (3.9-5.8 s to 7.3-8.3 s, float32, an
    empty cache), paid by every first run with nothing shipped, ``Model``
    included, which never takes this path; apart, the two compile side by
    side, one in each process of a first run (``jitnet._compile_layers``).

    Parameters
    ----------
    inputs : (n, n_in) float array, ``n_in`` 1 or 2
    weights : (n_in, n_out), ``n_out >= n_in``
    biases : (1, n_out)
    dvalues : (n, n_out)
    weight_l1, weight_l2, bias_l1, bias_l2 : float scalars, >= 0
    dweights, dbiases, dinputs : as ``weights``, ``biases``, ``inputs``; written
    """
    _few_inputs_backward(inputs, weights, dvalues, dweights, dbiases, dinputs)
    add_regularization_gradient(weights, weight_l1, weight_l2, dweights)
    add_regularization_gradient(biases, bias_l1, bias_l2, dbiases)


@jit
def relu_dense_backward(inputs, weights, biases, dvalues, weight_l1, weight_l2,
                        bias_l1, bias_l2, dweights, dbiases, dinputs):
    """Backward through a dense layer and the ReLU that produced its inputs.

    As :func:`dense_backward`, but ``dinputs`` is the gradient with respect
    to the ReLU's *input*: ``(dvalues @ weights.T) * (inputs > 0)``. The
    ReLU's output is this layer's ``inputs``, and ``output > 0`` exactly
    where the ReLU's input was, so no other array is needed.
    """
    _backward(inputs, weights, biases, dvalues, weight_l1, weight_l2, bias_l1,
              bias_l2, dweights, dbiases, dinputs, True, True, 1.0)


@jit
def add_regularization_gradient(params, l1, l2, grads):
    """``grads += l1 * sign(params) + 2 * l2 * params``, sign(0) = +1.

    Parameters
    ----------
    params, grads : (r, c) float arrays of one dtype; ``grads`` is updated
    l1, l2 : float scalars, >= 0 (zero skips the term, as in the book)
    """
    t = params.dtype.type
    l1_, two_l2 = t(l1), t(l2) + t(l2)
    if l1_ == 0 and two_l2 == 0:
        return
    rows, cols = params.shape
    for r in range(rows):
        for c in range(cols):
            p = params[r, c]
            g = two_l2 * p
            if l1_ != 0:
                g += l1_ if p >= 0 else -l1_
            grads[r, c] += g


@jit
def regularization_loss(params, l1, l2):
    """``l1 * sum(|params|) + l2 * sum(params ** 2)``, summed in float64.

    Parameters
    ----------
    params : float array of any shape (C-contiguous)
    l1, l2 : float scalars, >= 0

    Returns
    -------
    float
    """
    if l1 == 0 and l2 == 0:  # the book adds a term only for factors > 0
        return 0.0
    flat = params.ravel()
    abs_sum = 0.0
    sq_sum = 0.0
    for i in range(flat.size):
        v = float(flat[i])
        abs_sum += abs(v)
        sq_sum += v * v
    return l1 * abs_sum + l2 * sq_sum
