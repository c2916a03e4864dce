"""Every public kernel in ``kernels/`` is compared with its NumPy twin somewhere."""
import importlib
import inspect
import pkgutil

import jitnet.kernels
import test_callbacks  # noqa: F401  (registers its pairs, as these two)
import test_blas  # noqa: F401
import test_kernels  # noqa: F401
import test_model  # noqa: F401
from conftest import PAIRED


def test_every_kernel_is_paired():
    kernels = set()
    for info in pkgutil.iter_modules(jitnet.kernels.__path__):
        module = importlib.import_module(f"jitnet.kernels.{info.name}")
        kernels |= {name for name, obj in inspect.getmembers(module)
                    if hasattr(obj, "py_func") and not name.startswith("_")
                    and obj.__module__ == module.__name__}
    assert len(kernels) > 30
    assert kernels - PAIRED == set(), "kernels without a twin test"
