"""Dense layer kernels: ``output = inputs @ weights + biases`` and its gradients.

Small products run as hand-written loops (contiguous inner loop over the
output columns, so LLVM vectorises it); large ones call BLAS through ``dot``.
The cut-over is :data:`BLAS_MIN_FLOPS` multiply-adds. Below it, the cost of
entering BLAS (argument checks, thread hand-off) exceeds the arithmetic.
"""
from ._jit import dot, jit

#: Products with at least this many multiply-adds go to BLAS. Measured on the
#: 2-core EPYC dev machines (see benchmarks/bench_kernels.py): the loops win
#: for the book's 300x2x64 and 300x64x3 layers (~40k multiply-adds), BLAS wins
#: from about a 128x128x128 product up.
BLAS_MIN_FLOPS = 200_000


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
    if n * n_in * n_out >= BLAS_MIN_FLOPS:
        dot(inputs, weights, output)
        for i in range(n):
            for j in range(n_out):
                output[i, j] += biases[0, j]
        return
    for i in range(n):
        for j in range(n_out):
            output[i, j] = biases[0, j]
        for k in range(n_in):
            a = inputs[i, k]
            for j in range(n_out):
                output[i, j] += a * weights[k, j]


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
    n, n_in = inputs.shape
    n_out = weights.shape[1]
    big = n * n_in * n_out >= BLAS_MIN_FLOPS
    if big:
        dot(inputs.T, dvalues, dweights)
    else:
        for k in range(n_in):
            for j in range(n_out):
                dweights[k, j] = 0
        for i in range(n):
            for k in range(n_in):
                a = inputs[i, k]
                for j in range(n_out):
                    dweights[k, j] += a * dvalues[i, j]
    for j in range(n_out):
        dbiases[0, j] = 0
    for i in range(n):
        for j in range(n_out):
            dbiases[0, j] += dvalues[i, j]
    add_regularization_gradient(weights, weight_l1, weight_l2, dweights)
    add_regularization_gradient(biases, bias_l1, bias_l2, dbiases)
    if need_dinputs:
        if big:
            dot(dvalues, weights.T, dinputs)
        else:
            for i in range(n):
                for k in range(n_in):
                    acc = dinputs.dtype.type(0)
                    for j in range(n_out):
                        acc += dvalues[i, j] * weights[k, j]
                    dinputs[i, k] = acc


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
