"""The eval harness: gold Q&A suites and public benchmarks, scored without an LLM.

>>> from eval import run  # doctest: +SKIP
"""
from __future__ import annotations

from eval.gold import GoldItem, load
from eval.runner import EvalReport, run

__all__ = ["run", "load", "GoldItem", "EvalReport"]
