"""jitnet's compiled core: Numba ``@njit`` kernels, installed as ``jitnet.kernels``.

Kernels are pure functions over C-contiguous NumPy arrays and scalars. They
write into caller-provided outputs, return at most a few scalars, and never
validate: the wrappers in ``jitnet`` do that first (or, for class labels,
from the range a kernel reports before it indexes with them). Each has a
twin in ``jitnet.reference`` that the tests compare it with.
"""
import gc as _gc
import os as _os
import sys as _sys

# Importing Numba creates about 70,000 objects that live as long as the
# process. The collector would walk them in every full collection: over 100
# collections during the import itself, and those of interpreter shut-down
# (0.12-0.2 s of a 0.9 s chapter-9 script here). So we collect what is
# garbage already, pause the collector while they are made, then freeze
# everything that exists (gc.freeze: later collections skip it; reference
# counting still frees it). The price: an object that exists at this import
# and later becomes garbage in a reference cycle is never collected. Scripts
# import first; interactive sessions (a REPL, python -i, IPython, Jupyter)
# may hold large objects by then, so they are skipped, and
# JITNET_GC_FREEZE=0 skips it everywhere.
_FREEZE = (_os.environ.get("JITNET_GC_FREEZE", "1").strip() != "0"
           and not (hasattr(_sys, "ps1") or _sys.flags.interactive
                    or "IPython" in _sys.modules))
_collecting = _gc.isenabled()
if _FREEZE:
    _gc.collect()
    _gc.disable()
try:
    from ._jit import CACHE, FASTMATH, OPTIONS, jit
    from .activations import (copy_values, linear_backward, linear_forward, relu_backward,
                              relu_forward, sigmoid_backward, sigmoid_forward,
                              softmax_backward, softmax_forward)
    from .checks import all_finite, label_bounds
    from .dense import (BLAS_MIN_FLOPS, add_regularization_gradient,
                        dense_backward, dense_forward, few_inputs_dense_backward,
                        regularization_loss, relu_dense_backward)
    from .dropout import dropout_backward, dropout_forward, relu_dropout_forward, seed_rng
    from .vecmath import exp_nonpositive_f32, log_normal_f32
    from .losses import (bce_backward, bce_forward, cce_backward_onehot,
                         cce_backward_sparse, cce_forward_onehot,
                         cce_forward_sparse, mae_backward, mae_forward,
                         mse_backward, mse_forward, softmax_cce_backward_onehot,
                         softmax_cce_backward_sparse, softmax_cce_backward_sparse_checked,
                         softmax_cce_forward_sparse)
    from .optimizers import (adagrad_update, adam_update, decayed_learning_rate,
                             rmsprop_update, sgd_momentum_update, sgd_update)
finally:
    if _FREEZE:
        _gc.freeze()
        if _collecting:
            _gc.enable()

__all__ = [name for name in dir() if not name.startswith("_")]
