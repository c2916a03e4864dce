"""Ctrl-C during a compiled training call.

``Model.train`` spends its time inside one compiled call that holds no GIL
and runs no Python, so Python's SIGINT handler could not run until the call
returned: Ctrl-C was ignored for the whole run. While training, this module:

* routes SIGINT's wake-up byte (``signal.set_wakeup_fd``, written by
  Python's C-level handler even while compiled code runs) to a socket that a
  watcher thread waits on (one per process, started on first use); the
  watcher sets ``stop[0] = 1``, a flag the compiled loop reads before every
  step, so training stops between two steps;
* replaces the Python-level handler by one that only notes the signal, so no
  ``KeyboardInterrupt`` lands in the middle of the model's bookkeeping; the
  caller raises it once the model is consistent (:meth:`Interruptible.check`).

Everything is put back when the block ends. It acts only in the main thread
and only while SIGINT has Python's default handler (a program with its own
handler keeps it); elsewhere ``stop`` simply stays 0.
"""
import atexit
import signal
import socket
import threading

import numpy as np


_lock = threading.Lock()
_watcher = None  # (reader, writer) of the socket pair, once started
_active = None  # the Interruptible whose block is running


def _watch(reader):
    """Set the running block's ``stop`` flag whenever a signal's byte arrives."""
    while True:
        try:
            data = reader.recv(64)
        except OSError:
            return
        if not data:
            return
        target = _active
        # Each byte is a signal's number: any signal with a Python handler
        # writes one (SIGTERM, SIGALRM, ...); only SIGINT stops training.
        if target is not None and signal.SIGINT.value in data:
            target.stop[0] = 1


def _socket_pair():
    """The wake-up socket pair and its watcher thread, made once per process.

    One daemon thread waits on it for the process's life: starting a thread
    per ``train`` call cost about 0.4 ms. Both are closed at exit
    (:func:`_close`).
    """
    global _watcher
    with _lock:
        if _watcher is None:
            reader, writer = socket.socketpair()
            writer.setblocking(False)
            thread = threading.Thread(target=_watch, args=(reader,), daemon=True,
                                      name="jitnet-ctrl-c")
            thread.start()
            _watcher = (reader, writer)
            atexit.register(_close, reader, writer, thread)
    return _watcher


def _close(reader, writer, thread):
    """Close the pair at exit, so the interpreter finds no open socket to warn
    about (a ``ResourceWarning`` under ``-W default``, after every script that
    trained a ``Model``): the writer first, whose end of stream lets the
    watcher return, then the reader."""
    writer.close()
    thread.join(timeout=1.0)
    reader.close()


class Interruptible:
    """Context manager; ``stop`` is the int64 flag array to pass to the kernel."""

    def __init__(self):
        self.stop = np.zeros(1, np.int64)
        self.interrupted = False
        self._restore = None

    def __enter__(self):
        global _active
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
                or _active is not None):
            return self
        _, writer = _socket_pair()
        try:
            old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError):  # not possible here: behave as before
            return self
        old_handler = signal.signal(signal.SIGINT, self._note)
        self._restore = (old_fd, old_handler)
        _active = self
        return self

    def _note(self, signum, frame):
        self.interrupted = True
        self.stop[0] = 1

    def check(self):
        """Raise ``KeyboardInterrupt`` if Ctrl-C came during the block."""
        if self.interrupted:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        global _active
        if self._restore is None:
            return False
        old_fd, old_handler = self._restore
        self._restore = None
        _active = None
        signal.signal(signal.SIGINT, old_handler)
        signal.set_wakeup_fd(old_fd)
        return False
