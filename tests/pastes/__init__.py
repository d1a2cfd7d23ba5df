"""Pastes as people paste them (``*.txt``) and the models they mean (:mod:`.reference`).

Read by ``tests/test_paste_corpus.py``; a package so that pytest imports ``reference`` once,
as ``pastes.reference``, whether it collects it for doctests or the test module imports it.
"""
