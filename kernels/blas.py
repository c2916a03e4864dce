"""Matrix products in compiled code through NumPy's own BLAS, when it has one we can call.

Numba's ``np.dot`` inside a kernel calls SciPy's BLAS; NumPy's pip wheels
bundle another OpenBLAS (0.3.31 against SciPy's 0.3.30 here), and on the
products the book's networks make it is the faster of the two. One core,
float32, interleaved, microseconds per product (2026-12-02):

=====================================  ===========  ===========
product                                SciPy's BLAS NumPy's BLAS
=====================================  ===========  ===========
1000x64 @ 64x64 weight gradient (TN)   155-194      108-139
1000x64 @ 64x64 forward (NN)           107-141      108-141
128x784 @ 784x128 (NN, TN, NT)         406-420      365-395
128x128 @ 128x10 weight gradient (TN)  11.2-17.1    8.4-11.1
=====================================  ===========  ===========

:func:`gemm` calls NumPy's ``cblas_sgemm``/``cblas_dgemm`` (the ILP64
``scipy_openblas64_`` build NumPy's wheels ship) through its address, which
compiled code reads at run time from a variable this module fills when it
is imported: the code names the variable, never an address, so it caches
and ships like every other kernel. Where NumPy has no such library (a
source or conda build, macOS's Accelerate, ``JITNET_NUMPY_BLAS=0``) the
variable holds SciPy's Fortran ``?gemm`` (what Numba's ``np.dot`` calls)
and :func:`gemm` calls that. The kernels no longer compile Numba's
``np.dot`` at all, whose copies and checks the callers never needed.
"""
import ctypes
import glob
import os

import llvmlite.binding as ll
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit_inline

#: The CBLAS functions we look for, ILP64 (64-bit integers) only: the
#: names say so, and a call with the wrong integer width would corrupt memory.
_SYMBOLS = {np.dtype(np.float32): ("scipy_cblas_sgemm64_", "cblas_sgemm64_"),
            np.dtype(np.float64): ("scipy_cblas_dgemm64_", "cblas_dgemm64_")}

#: SciPy's Fortran BLAS (what Numba's ``np.dot`` calls), by dtype.
_FORTRAN = {np.dtype(np.float32): "sgemm", np.dtype(np.float64): "dgemm"}

#: How :func:`gemm` multiplies: the value of :data:`ABI`.
NONE, CBLAS_ILP64, FORTRAN_LP64 = 0, 1, 2

#: The variables compiled code reads, one machine word each, alive for the
#: process: the calling convention (:data:`CBLAS_ILP64` ...), and by dtype the
#: address of the function to call.
ABI = ctypes.c_int64(NONE)
ADDRESSES = {dtype: ctypes.c_void_p(0) for dtype in _FORTRAN}
_NAMES = {"jitnet_gemm_abi": ABI, "jitnet_sgemm": ADDRESSES[np.dtype(np.float32)],
          "jitnet_dgemm": ADDRESSES[np.dtype(np.float64)]}

# CBLAS enums.
_ROW_MAJOR, NO_TRANSPOSE, TRANSPOSE = 101, 111, 112


def _numpy_blas_files():
    """The ILP64 OpenBLAS libraries bundled with NumPy (pip wheels), if any."""
    root = os.path.dirname(os.path.abspath(np.__file__))
    found = []
    for folder in (os.path.join(os.path.dirname(root), "numpy.libs"),  # Linux, Windows
                   os.path.join(root, ".dylibs")):                      # macOS
        found += sorted(glob.glob(os.path.join(folder, "*openblas64_*")))
    return found


def _loaded_in_this_process(path):
    """False if we can tell that NumPy did not load ``path`` (Linux only):
    opening a second copy of OpenBLAS would start a second thread pool."""
    target = os.path.realpath(path) + "\n"
    try:
        with open("/proc/self/maps") as maps:
            return target in maps.read()
    except OSError:
        return True  # nothing to tell by; the file sits in NumPy's own folder


def _numpy_gemm():
    """``({dtype: address}, path)`` of NumPy's CBLAS ``?gemm``, or None."""
    for path in _numpy_blas_files():
        if not _loaded_in_this_process(path):
            continue
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        found = {dtype: next((getattr(library, name) for name in names
                              if hasattr(library, name)), None)
                 for dtype, names in _SYMBOLS.items()}
        if all(function is not None for function in found.values()):
            return {dtype: ctypes.cast(function, ctypes.c_void_p).value
                    for dtype, function in found.items()}, path
    return None


def _scipy_gemm():
    """``{dtype: address}`` of SciPy's Fortran ``?gemm``, or None."""
    try:
        from numba.extending import get_cython_function_address
        return {dtype: get_cython_function_address("scipy.linalg.cython_blas", name)
                for dtype, name in _FORTRAN.items()}
    except (ImportError, ValueError, AttributeError):
        return None


def select(which="best"):
    """Choose what :func:`gemm` calls, for this process, from now on.

    Parameters
    ----------
    which : {"best", "numpy", "scipy"}
        ``"best"`` (what importing jitnet does): NumPy's BLAS if found, else
        SciPy's; ``JITNET_NUMPY_BLAS=0`` in the environment skips NumPy's.
        The others force one (tests compare them).

    Returns
    -------
    str
        What was chosen: ``"numpy <library path>"``, ``"scipy"``, or
        ``"none"`` (SciPy's library missing too: products raise ValueError).

    Raises
    ------
    ValueError
        If ``which`` names a library this process does not have.

    Notes
    -----
    Not thread-safe: call it while no kernel runs.
    """
    numpy_ok = which == "numpy" or (
        which == "best" and os.environ.get("JITNET_NUMPY_BLAS", "1").strip() != "0")
    found = _numpy_gemm() if numpy_ok else None
    if found is not None:
        addresses, chosen, abi = found[0], f"numpy {found[1]}", CBLAS_ILP64
    else:
        addresses = _scipy_gemm() if which in ("best", "scipy") else None
        chosen, abi = ("scipy", FORTRAN_LP64) if addresses else ("none", NONE)
    if which not in ("best", chosen.split()[0]):
        raise ValueError(f"select: {which!r} is not available here (found {chosen})")
    ABI.value = NONE  # the addresses change while no one can use them
    for dtype, variable in ADDRESSES.items():
        variable.value = addresses[dtype] if addresses else 0
    ABI.value = abi
    return chosen


for _name, _variable in _NAMES.items():
    # Before any kernel loads: cached code refers to the variables by name.
    ll.add_symbol(_name, ctypes.addressof(_variable))

#: What :func:`gemm` calls in this process (see :func:`select`).
CHOSEN = select()


def _load(builder, name):
    """Load the 64-bit variable ``name`` (an external symbol; see :data:`_NAMES`)."""
    module = builder.module
    variable = module.globals.get(name)
    if variable is None:
        variable = ir.GlobalVariable(module, ir.IntType(64), name)
        variable.linkage = "external"
    return builder.load(variable)


@intrinsic
def _gemm_abi(typingctx):
    """The value of :data:`ABI`."""
    def codegen(context, builder, signature, args):
        return _load(builder, "jitnet_gemm_abi")
    return types.int64(), codegen


@intrinsic
def _gemm_address(typingctx, array):
    """The address of the ``?gemm`` :func:`select` chose for ``array``'s dtype."""
    def codegen(context, builder, signature, args):
        return _load(builder, "jitnet_sgemm" if array.dtype == types.float32
                     else "jitnet_dgemm")
    return types.int64(array), codegen


@intrinsic
def _cblas_gemm(typingctx, address, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc):
    """``cblas_?gemm(RowMajor, trans_a, trans_b, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)``
    through the function at ``address`` (ILP64: integers are 64-bit)."""
    def codegen(context, builder, signature, args):
        address_, trans_a_, trans_b_, m_, n_, k_, a_, lda_, b_, ldb_, c_, ldc_ = args
        i32, i64 = ir.IntType(32), ir.IntType(64)
        real = context.get_value_type(c.dtype)
        pointer = real.as_pointer()
        function_type = ir.FunctionType(ir.VoidType(), [
            i32, i32, i32, i64, i64, i64, real, pointer, i64, pointer, i64, real,
            pointer, i64])
        function = builder.inttoptr(address_, function_type.as_pointer())
        builder.call(function, [
            ir.Constant(i32, _ROW_MAJOR), builder.trunc(trans_a_, i32),
            builder.trunc(trans_b_, i32), m_, n_, k_, ir.Constant(real, 1.0),
            _data(context, builder, a, a_, pointer), lda_,
            _data(context, builder, b, b_, pointer), ldb_, ir.Constant(real, 0.0),
            _data(context, builder, c, c_, pointer), ldc_])
        return context.get_dummy_value()
    return types.void(address, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc), codegen


@intrinsic
def _fortran_gemm(typingctx, address, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc):
    """The same product through a Fortran ``?gemm`` at ``address`` (SciPy's
    ``cython_blas``: column-major, arguments by pointer, 32-bit integers).

    Row-major ``C = op(A) @ op(B)`` is column-major ``C.T = op(B).T @ op(A).T``,
    and each row-major array is its transpose in column-major order: so the
    operands swap, with their flags and leading dimensions unchanged.
    """
    def codegen(context, builder, signature, args):
        address_, trans_a_, trans_b_, m_, n_, k_, a_, lda_, b_, ldb_, c_, ldc_ = args
        i8, i32 = ir.IntType(8), ir.IntType(32)
        real = context.get_value_type(c.dtype)
        pointer = real.as_pointer()
        int_p, char_p = i32.as_pointer(), i8.as_pointer()
        function_type = ir.FunctionType(ir.VoidType(), [
            char_p, char_p, int_p, int_p, int_p, pointer, pointer, int_p, pointer,
            int_p, pointer, pointer, int_p])
        function = builder.inttoptr(address_, function_type.as_pointer())

        def by_pointer(value):
            return cgutils.alloca_once_value(builder, value)

        def letter(flag):  # 'N' (78) or 'T' (84)
            transposed = builder.icmp_signed("==", flag, ir.Constant(flag.type, TRANSPOSE))
            return by_pointer(builder.select(transposed, ir.Constant(i8, 84),
                                             ir.Constant(i8, 78)))

        def integer(value):
            return by_pointer(builder.trunc(value, i32))

        builder.call(function, [
            letter(trans_b_), letter(trans_a_), integer(n_), integer(m_), integer(k_),
            by_pointer(ir.Constant(real, 1.0)),
            _data(context, builder, b, b_, pointer), integer(ldb_),
            _data(context, builder, a, a_, pointer), integer(lda_),
            by_pointer(ir.Constant(real, 0.0)),
            _data(context, builder, c, c_, pointer), integer(ldc_)])
        return context.get_dummy_value()
    return types.void(address, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc), codegen


def _data(context, builder, array_type, value, pointer):
    """The data pointer of a Numba array value, as ``pointer``."""
    array = context.make_array(array_type)(context, builder, value)
    return builder.bitcast(array.data, pointer)


@jit_inline
def gemm(a, trans_a, b, trans_b, out):
    """``out[:] = op(a) @ op(b)`` in BLAS, ``op(x)`` being ``x.T`` when its flag
    is True: NumPy's BLAS when found, else SciPy's (see module).

    The operands are passed untransposed, with flags: every array is then
    C-contiguous, its row length its leading dimension. Inlined (the flags
    are constants at every call site).

    Parameters
    ----------
    a : (m, k) float array, or (k, m) with ``trans_a``; C-contiguous
    trans_a : bool
    b : (k, n) same dtype, or (n, k) with ``trans_b``; C-contiguous
    trans_b : bool
    out : (m, n) same dtype, C-contiguous, written; overlaps neither input
    """
    m, n = out.shape
    k = a.shape[0] if trans_a else a.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:  # BLAS wants leading dimensions of at least 1
        out[:] = 0
        return
    lda, ldb, ldc = a.shape[1], b.shape[1], n  # C order: the row lengths
    flag_a = TRANSPOSE if trans_a else NO_TRANSPOSE
    flag_b = TRANSPOSE if trans_b else NO_TRANSPOSE
    abi = _gemm_abi()
    if abi == CBLAS_ILP64:
        _cblas_gemm(_gemm_address(out), flag_a, flag_b, m, n, k, a, lda, b, ldb, out, ldc)
    elif abi == FORTRAN_LP64 and max(m, n, k) < 2 ** 31:
        _fortran_gemm(_gemm_address(out), flag_a, flag_b, m, n, k, a, lda, b, ldb, out,
                      ldc)
    else:
        raise ValueError("matrix product: no BLAS, or a dimension of 2**31 or more"
                         " for SciPy's 32-bit BLAS (NumPy's pip wheels have no"
                         " such limit; see jitnet.kernels.blas)")
