"""The book's chapter scripts (``jitnet.chapters``) under asv, jitnet against the reference.

As in ``python -m jitnet bench``, each chapter runs after ``nnfs.init()`` and
on one core: ``setup`` enters both conditions (and builds, which compiles)
and ``teardown`` leaves them, so every timing in between sees them. The
epoch counts are small, and chapter 19 trains on 50 batches instead of a
whole epoch, to keep a full ``asv run`` short.
"""
from contextlib import ExitStack

from jitnet import chapters as C, workloads as W

from .common import speedup

FAST, BOOK = W.library("jitnet"), W.library("reference")

#: Epochs per timed call; chapter 19: 50 batches of 128, 1000 validation rows.
EPOCHS = {"ch10": 100, "ch14": 100, "ch15": 20, "ch16": 100, "ch17": 30,
          "ch18": 4, "ch19": 1}
OPTIONS = {"ch19": {"samples": 128 * 50, "test_samples": 1000}}


class Chapters:
    """One chapter's training loop, as its script writes it, through both libraries."""

    params = [list(C.CHAPTERS)]
    param_names = ["chapter"]
    timeout = 300

    def setup(self, chapter):
        self.conditions = ExitStack()
        self.conditions.enter_context(C.one_core())
        self.conditions.enter_context(C.nnfs_conditions())
        try:
            self.fast, _ = C.build(chapter, FAST, EPOCHS[chapter],
                                   **OPTIONS.get(chapter, {}))
            self.book, _ = C.build(chapter, BOOK, EPOCHS[chapter],
                                   **OPTIONS.get(chapter, {}))
        except BaseException:
            self.conditions.close()
            raise

    def teardown(self, chapter):
        self.conditions.close()

    def time_jitnet(self, chapter):
        self.fast()

    def time_reference(self, chapter):
        self.book()

    def track_speedup(self, chapter):
        return speedup(self.book, self.fast, repeat=3)
    track_speedup.unit = "x"
