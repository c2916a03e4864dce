"""The book's chapter scripts (``jitnet.chapters``) under asv, jitnet against the reference.

As in ``python -m jitnet bench``, each chapter runs after ``nnfs.init()``, on
one core, and one library per process: in a process that had run the other
library (or another chapter) first, the book's own speed changed
(docs/performance.md, "The book's chapters").

* ``Chapters.time_epochs`` times one library; ``setup`` builds only that
  one (which compiles) and enters both conditions, ``teardown`` leaves them.
* ``ChapterSpeedups.track_speedup`` returns how many times faster jitnet
  runs the chapter than the reference, both timed in fresh interpreters,
  alternating (``bench.time_chapter_processes``).

The epoch counts are small, and chapter 19 trains on 50 batches instead of a
whole epoch, to keep a full ``asv run`` short.
"""
from contextlib import ExitStack

from jitnet import bench, chapters as C, workloads as W

#: Epochs per timed call; chapter 19: 50 batches of 128, 1000 validation rows.
EPOCHS = {"ch10": 100, "ch14": 100, "ch15": 20, "ch16": 100, "ch17": 30,
          "ch18": 4, "ch19": 1}
OPTIONS = {"ch19": {"samples": 128 * 50, "test_samples": 1000}}


class Chapters:
    """One chapter's training loop, as its script writes it, through one library."""

    params = [list(C.CHAPTERS), ["reference", "jitnet"]]
    param_names = ["chapter", "library"]
    timeout = 300

    def setup(self, chapter, library):
        self.conditions = ExitStack()
        self.conditions.enter_context(C.one_core())
        self.conditions.enter_context(C.nnfs_conditions())
        try:
            self.run, _ = C.build(chapter, W.library(library), EPOCHS[chapter],
                                  **OPTIONS.get(chapter, {}))
        except BaseException:
            self.conditions.close()
            raise

    def teardown(self, chapter, library):
        self.conditions.close()

    def time_epochs(self, chapter, library):
        self.run()


class ChapterSpeedups:
    """jitnet's speed-up over the reference on one chapter, each in its own processes."""

    params = [list(C.CHAPTERS)]
    param_names = ["chapter"]
    timeout = 900

    def track_speedup(self, chapter):
        per_epoch = bench.time_chapter_processes(chapter, EPOCHS[chapter], repeat=3,
                                                 **OPTIONS.get(chapter, {}))
        return per_epoch["reference"] / per_epoch["jitnet"]
    track_speedup.unit = "x"
