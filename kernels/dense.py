"""Dense layer kernels: ``output = inputs @ weights + biases`` and its gradients.

How each product runs is chosen per call by shape, from measurements:

* large products go to BLAS through ``dot`` (:data:`BLAS_MIN_FLOPS`);
* otherwise the innermost loop runs along the wider weight axis, contiguous in
  memory, so LLVM vectorises it: row updates (``out[i, :] += x[i, k] *
  w[k, :]``) for wide layers, dot products with local accumulators over a
  transposed copy of the weights for narrow ones (few outputs). Run the wide
  way, a 3-output layer was 15-20x slower: the accumulator lives in memory
  LLVM must assume aliases the inputs;
* weight gradients accumulate four samples per pass over a row (a quarter of
  the stores);
* the input gradient of a narrow layer goes to BLAS even when small: every
  loop order we tried lost to it.

Measured on the 2-core EPYC dev machine, float32, microseconds per call
(``python -m jitnet bench``, ``benchmarks/bench_kernels.py``): forward
300x64 @ 64x3, 76 the wide way vs 4.3 the narrow way; 300x2 @ 2x64, 5.6 vs 29;
input gradient 300x3 @ 3x64, 7.5 in loops vs 4.6 in BLAS.
"""
import numpy as np

from ._jit import dot, jit

#: Products with at least this many multiply-adds go to BLAS. Below it, entering
#: BLAS (argument checks, thread hand-off) costs more than the loops; measured
#: with benchmarks/bench_kernels.py (the loops win up to about 64x128x128).
BLAS_MIN_FLOPS = 1_000_000

#: A weight dimension at least this wide makes a good vectorised inner loop.
WIDE = 16


@jit
def _wide(n_in, n_out):
    """True when the inner loops should run over the ``n_out`` dimension."""
    return n_out >= WIDE or n_out >= n_in


@jit
def _transpose(a):
    """A C-contiguous transposed copy of the 2-D array ``a``."""
    rows, cols = a.shape
    t = np.empty((cols, rows), a.dtype)
    for r in range(rows):
        for c in range(cols):
            t[c, r] = a[r, c]
    return t


@jit
def _accumulate_transposed_product(a, b, out):
    """``out = a.T @ b`` as row updates ``out[r, :] += a[i, r] * b[i, :]``.

    Four samples are combined per pass over a row, so each element of ``out``
    is stored a quarter as often; the inner loop runs along ``b``'s rows.
    """
    n, p = a.shape
    m = b.shape[1]
    zero = out.dtype.type(0)
    for r in range(p):
        row = out[r]
        for j in range(m):
            row[j] = zero
        i = 0
        while i + 4 <= n:
            a0, a1, a2, a3 = a[i, r], a[i + 1, r], a[i + 2, r], a[i + 3, r]
            b0, b1, b2, b3 = b[i], b[i + 1], b[i + 2], b[i + 3]
            for j in range(m):
                row[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j]
            i += 4
        while i < n:
            a0, b0 = a[i, r], b[i]
            for j in range(m):
                row[j] += a0 * b0[j]
            i += 1


@jit
def dense_forward(inputs, weights, biases, output):
    """``output[:] = inputs @ weights + biases``.

    Parameters
    ----------
    inputs : (n, n_in) float array, C-contiguous
    weights : (n_in, n_out) same dtype
    biases : (1, n_out) same dtype
    output : (n, n_out) same dtype, written
    """
    n, n_in = inputs.shape
    n_out = weights.shape[1]
    zero = inputs.dtype.type(0)  # keeps float32 sums in float32 (SIMD width)
    if n * n_in * n_out >= BLAS_MIN_FLOPS:
        dot(inputs, weights, output)
        for i in range(n):
            for j in range(n_out):
                output[i, j] += biases[0, j]
    elif _wide(n_in, n_out):
        for i in range(n):
            # Row updates, two inputs per pass: half the stores of one input
            # per pass (300x2 @ 2x64: 3.1 us against 6.3 us).
            row, x = output[i], inputs[i]
            k = 0
            if n_in >= 2:
                a0, a1, w0, w1 = x[0], x[1], weights[0], weights[1]
                for j in range(n_out):
                    row[j] = biases[0, j] + a0 * w0[j] + a1 * w1[j]
                k = 2
            else:
                for j in range(n_out):
                    row[j] = biases[0, j]
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
    else:
        wt = _transpose(weights)
        for i in range(n):
            x = inputs[i]
            for j in range(n_out):
                w = wt[j]
                acc = zero
                for k in range(n_in):
                    acc += x[k] * w[k]
                output[i, j] = acc + biases[0, j]


@jit
def _backward(inputs, weights, biases, dvalues, weight_l1, weight_l2, bias_l1,
              bias_l2, dweights, dbiases, dinputs, need_dinputs, relu_inputs):
    """The body of :func:`dense_backward` and :func:`relu_dense_backward`."""
    n, n_in = inputs.shape
    n_out = weights.shape[1]
    big = n * n_in * n_out >= BLAS_MIN_FLOPS
    wide = _wide(n_in, n_out)
    zero = inputs.dtype.type(0)
    # dweights = inputs.T @ dvalues, inner loop along the wider axis
    if big:
        dot(inputs.T, dvalues, dweights)
    elif wide:
        _accumulate_transposed_product(inputs, dvalues, dweights)
    else:
        dwt = np.empty((n_out, n_in), dweights.dtype)
        _accumulate_transposed_product(dvalues, inputs, dwt)
        for k in range(n_in):
            for j in range(n_out):
                dweights[k, j] = dwt[j, k]
    # dbiases = column sums of dvalues
    for j in range(n_out):
        dbiases[0, j] = zero
    for i in range(n):
        d = dvalues[i]
        for j in range(n_out):
            dbiases[0, j] += d[j]
    add_regularization_gradient(weights, weight_l1, weight_l2, dweights)
    add_regularization_gradient(biases, bias_l1, bias_l2, dbiases)
    if not need_dinputs:
        return
    # dinputs = dvalues @ weights.T (times the ReLU mask inputs > 0)
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
                dinputs[i, k] = acc
        return
    # Large, or narrow (few outputs): BLAS beat every loop order we tried for
    # narrow layers too (300x3 @ 3x64: 4.6 us against 7.5 us for row updates).
    dot(dvalues, weights.T, dinputs)
    if relu_inputs:
        # Multiply by a 0/1 mask rather than `row[k] if x[k] > 0 else 0`:
        # LLVM turns that into a conditional store, a branch per element that
        # mispredicts on ReLU patterns (measured 3x slower). Only an infinite
        # gradient behaves differently (inf * 0 is NaN, not 0), and by then the
        # loss is not finite and training stops with FloatingPointError.
        one = inputs.dtype.type(1)
        for i in range(n):
            row, x = dinputs[i], inputs[i]
            for k in range(n_in):
                row[k] *= one if x[k] > zero else zero


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
              bias_l2, dweights, dbiases, dinputs, need_dinputs, False)


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
              bias_l2, dweights, dbiases, dinputs, True, True)


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
    flat = params.ravel()
    abs_sum = 0.0
    sq_sum = 0.0
    for i in range(flat.size):
        v = float(flat[i])
        abs_sum += abs(v)
        sq_sum += v * v
    return l1 * abs_sum + l2 * sq_sum
