"""``python -m jitnet bench``: jitnet against the book's NumPy code (and PyTorch, JAX).

Every ratio compares timings taken side by side in this one process, after
compilation, as medians over repeats. PyTorch and JAX columns appear when
those libraries are importable; they are never dependencies. Start-up and
peak memory are medians over as many fresh subprocesses. The last rows run
the book's own chapter scripts (``jitnet.chapters``) as a reader runs them:
after ``nnfs.init()``, on one core, timed per epoch.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from . import bench_peers, chapters as C, workloads as W
from .kernels import _portable

SPIRAL_EPOCHS = 10001  # what the book trains; times are scaled to it


def median_time(run, repeat):
    """Median wall time of ``run()`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_chapter(chapter, library, epochs, repeat=1, **options):
    """Median seconds per epoch of one library on one chapter script.

    Built (which runs it briefly) and timed inside ``chapters.one_core()``
    and ``chapters.nnfs_conditions()``. ``library`` is a key of
    ``workloads.LIBRARIES``; ``options`` go to ``chapters.build``.
    """
    with C.one_core(), C.nnfs_conditions():
        run, n = C.build(chapter, W.library(library), epochs, **options)
        return median_time(run, repeat) / n


_CHAPTER = """
import json
from jitnet import bench
print(json.dumps(bench.time_chapter({chapter!r}, {library!r}, {epochs}, {runs}, **{options!r})))
"""

#: Timed runs in each chapter process (their median is the process's figure).
RUNS_PER_PROCESS = 3


def chapter_process_times(chapter, epochs, repeat=5, **options):
    """Each process's seconds per epoch, both libraries, on ``chapter``.

    Every timed run is a fresh Python running one library's chapter
    (:func:`time_chapter`), as a reader runs either the book's script or the
    swapped one: in one shared process, what ran before changed the book's
    speed (docs/performance.md, "The book's chapters"). The two libraries'
    processes alternate, ``repeat`` of each; each figure is that process's
    median of :data:`RUNS_PER_PROCESS` runs.

    Returns
    -------
    dict
        ``{"reference": [seconds, ...], "jitnet": [seconds, ...]}`` per epoch,
        in the order run.
    """
    times = {"reference": [], "jitnet": []}
    for _ in range(repeat):
        for library, spent in times.items():
            spent.append(_child(_CHAPTER.format(
                chapter=chapter, library=library, epochs=epochs,
                runs=RUNS_PER_PROCESS, options=options))[1])
    return times


def time_chapter_processes(chapter, epochs, repeat=5, **options):
    """Seconds per epoch of both libraries on ``chapter``, as a reader runs it:
    the medians of :func:`chapter_process_times`.

    Returns
    -------
    dict
        ``{"reference": seconds, "jitnet": seconds}`` per epoch.
    """
    times = chapter_process_times(chapter, epochs, repeat, **options)
    return {library: statistics.median(spent) for library, spent in times.items()}


def round_ratios(slow, fast):
    """Lowest and highest ratio ``slow[i] / fast[i]`` over the rounds.

    A round is one process of each library, run back to back
    (:func:`chapter_process_times` alternates them), so each ratio compares
    timings taken within seconds of each other. The machine's speed drifts
    from process to process, and the two ends show how far.

    Parameters
    ----------
    slow, fast : sequences of float > 0, one entry per round

    Returns
    -------
    (low, high) : tuple of float
    """
    ratios = [s / f for s, f in zip(slow, fast, strict=True)]
    return min(ratios), max(ratios)


def chapter_rows(quick=False, repeat=5, out=print, chapters=None):
    """Time the book's chapter scripts on both libraries; return result rows.

    Each row holds the medians of :func:`chapter_process_times`, in the unit
    (us, ms or s) that suits the reference's epoch, and under ``"spread"``
    the lowest and highest ratio of a round (:func:`round_ratios`): the
    machine's speed drifts from process to process, so the ratio of the
    medians tells less without them.

    Parameters
    ----------
    quick : bool
        Fewer epochs per run (``chapters.QUICK_EPOCHS``).
    repeat : int
        Timed processes per library; the median is reported.
    out : callable
        Progress lines go here.
    chapters : iterable of str or None
        Which chapters (keys of ``chapters.CHAPTERS``); None for all.
    """
    epochs = C.QUICK_EPOCHS if quick else C.EPOCHS
    rows = []
    for chapter in (C.CHAPTERS if chapters is None else chapters):
        times = chapter_process_times(chapter, epochs[chapter], repeat)
        ref_s, jit_s = (statistics.median(times[lib]) for lib in ("reference", "jitnet"))
        scale, unit = ((1e6, "us") if ref_s < 1e-3 else (1e3, "ms") if ref_s < 1
                       else (1, "s"))
        low, high = round_ratios(times["reference"], times["jitnet"])
        rows.append({"workload": C.row_name(chapter), "unit": unit,
                     "reference": ref_s * scale, "jitnet": jit_s * scale,
                     "torch": None, "jax": None, "target": C.CHAPTERS[chapter][3],
                     "spread": (low, high)})
        out(f"  measured {rows[-1]['workload']}: {ref_s / jit_s:.1f}x"
            f" ({low:.1f}-{high:.1f}x in the {repeat} rounds)")
    return rows


def blas_threads():
    """Threads NumPy's BLAS uses (threadpoolctl when installed, else the CPU count)."""
    try:
        from threadpoolctl import threadpool_info
        counts = [pool["num_threads"] for pool in threadpool_info()
                  if pool.get("user_api") == "blas"]
        if counts:
            return max(counts)
    except ImportError:
        pass
    return os.cpu_count() or 1


def _child(code, env=None):
    """Run ``code`` in a fresh interpreter; return (wall seconds, its JSON output)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=900)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr[-2000:]}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


_FIRST_EPOCH = """
import jitnet.nnfs as lib
from jitnet import workloads as W
W.spiral_model_train(lib, 1)
print("{}")
"""

# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child of a
# large benchmarking process would report the parent's size.
_PEAK_MEMORY = """
import json, resource
from jitnet import workloads as W
run = W.wide_model_train(W.library({lib!r}))
run()
try:
    with open("/proc/self/status") as f:
        kib = [int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")][0]
except (OSError, IndexError):
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"kib": kib}}))
"""


def measure(quick=False, repeat=5, cold=True, out=print, workloads=True, chapters=True):
    """Run every workload; return a list of result rows (dicts).

    ``workloads=False`` skips the rows before the chapters' (``--chapters``);
    ``chapters=False`` skips the chapters' rows.
    """
    if not workloads:
        return chapter_rows(quick, repeat, out) if chapters else []
    spiral_epochs = 201 if quick else 2001
    scale = SPIRAL_EPOCHS / spiral_epochs
    wide_samples = W.WIDE_BATCH * (40 if quick else 469)
    threads = blas_threads()
    rows = []

    def row(name, unit, reference, jitnet, torch=None, jax=None, target=None):
        rows.append({"workload": name, "unit": unit, "reference": reference,
                     "jitnet": jitnet, "torch": torch, "jax": jax, "target": target})
        out(f"  measured {name}")

    t = lambda run: None if run is None else median_time(run, repeat)  # noqa: E731
    fast, book = W.library("jitnet"), W.library("reference")
    ref = t(W.spiral_book_loop(book, spiral_epochs)) * scale
    model = t(W.spiral_model_train(fast, spiral_epochs)) * scale
    torch = t(bench_peers.torch_spiral(spiral_epochs))
    jax = t(bench_peers.jax_spiral(spiral_epochs))
    row(f"spiral 2-64-3, Adam, {SPIRAL_EPOCHS} epochs: Model.train", "s", ref, model,
        None if torch is None else torch * scale, None if jax is None else jax * scale,
        target="15x reference, 2x JAX, 10x PyTorch")
    loop = t(W.spiral_book_loop(fast, spiral_epochs)) * scale
    row(f"spiral 2-64-3, {SPIRAL_EPOCHS} epochs: book loop via jitnet.nnfs", "s",
        ref, loop, target="5x reference")
    calls = 100
    row("softmax Jacobian backward, (300, 3), per call", "us",
        t(W.softmax_backward(book, repeat=calls)) / calls * 1e6,
        t(W.softmax_backward(fast, repeat=calls)) / calls * 1e6, target="100x reference")
    steps = wide_samples // W.WIDE_BATCH
    row(f"784-128-128-10, batch 128, {steps} steps ({threads} threads)", "s",
        t(W.wide_model_train(book, wide_samples)),
        t(W.wide_model_train(fast, wide_samples)),
        t(bench_peers.torch_wide(threads, wide_samples)),
        target="2x reference, 1.3x PyTorch")
    if cold:  # each repeat: a fresh cache, compiled into, then loaded from
        empty, cached, shipped = [], [], []
        compiling = {"JITNET_PORTABLE_CACHE": "0"}
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as cache:
                empty.append(_child(_FIRST_EPOCH, {**compiling, "NUMBA_CACHE_DIR": cache})[0])
                cached.append(_child(_FIRST_EPOCH, {**compiling, "NUMBA_CACHE_DIR": cache})[0])
            if _portable.usable():  # this machine loads the shipped kernels
                with tempfile.TemporaryDirectory() as cache:
                    shipped.append(_child(_FIRST_EPOCH, {"NUMBA_CACHE_DIR": cache})[0])
        row("start-up, fresh machine (shipped kernels, empty cache):"
            " import + first epoch", "s", None,
            statistics.median(shipped) if shipped else None, target="<= 8 s")
        row("start-up, nothing shipped or cached (JITNET_PORTABLE_CACHE=0):"
            " import + compile + first epoch", "s", None, statistics.median(empty),
            target="<= 20 s")
        row("start-up, cached: interpreter + import + first epoch", "s",
            None, statistics.median(cached), target="<= 2 s")
    if not quick:  # each library in its own processes: the reference's load no Numba
        mem = {lib: statistics.median(_child(_PEAK_MEMORY.format(lib=lib))[1]["kib"]
                                      for _ in range(repeat)) / 1024
               for lib in W.LIBRARIES}
        row("peak RSS, 784-128-128-10 epoch", "MiB", mem["reference"], mem["jitnet"],
            target="<= reference")
    if chapters:
        rows += chapter_rows(quick, repeat, out)
    return rows


def _fmt(value, unit):
    if value is None:
        return "-"
    return f"{value:.3g} {unit}" if unit != "s" or value < 100 else f"{value:.0f} s"


def _ratio(slow, fast, spread=None):
    if slow is None or fast is None:
        return "-"
    if spread is None:
        return f"{slow / fast:.1f}x"
    return f"{slow / fast:.1f}x ({spread[0]:.1f}-{spread[1]:.1f})"


def table(rows):
    """The results as a Markdown table (a row's ``"spread"``, when it has one,
    follows its speed-up in brackets)."""
    header = ["workload", "book NumPy", "jitnet", "speedup", "PyTorch", "vs PyTorch",
              "JAX", "vs JAX", "target"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for r in rows:
        u = r["unit"]
        lines.append(
            f"| {r['workload']} | {_fmt(r['reference'], u)} | {_fmt(r['jitnet'], u)}"
            f" | {_ratio(r['reference'], r['jitnet'], r.get('spread'))} | {_fmt(r['torch'], u)}"
            f" | {_ratio(r['torch'], r['jitnet'])} | {_fmt(r['jax'], u)}"
            f" | {_ratio(r['jax'], r['jitnet'])} | {r['target'] or ''} |")
    return "\n".join(lines)


def machine():
    """One line about this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    import numba
    return (f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
            f" NumPy {np.__version__}, Numba {numba.__version__},"
            f" BLAS threads {blas_threads()}")


def run(quick=False, repeat=None, cold=True, out=print, workloads=True, chapters=True):
    """Measure, then print the machine line and the table.

    ``workloads`` and ``chapters`` select the rows as in :func:`measure`.
    """
    repeat = repeat or (3 if quick else 5)
    out(f"jitnet bench ({'quick' if quick else 'full'}, median of {repeat})")
    out(machine())
    rows = measure(quick=quick, repeat=repeat, cold=cold, out=out,
                   workloads=workloads, chapters=chapters)
    out("")
    out(table(rows))
    return rows
