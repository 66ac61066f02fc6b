"""Eval: measuring the pipeline.

dataset (QA sets) -> run (ask and score each question) -> metrics -> report;
:mod:`.bench` measures speed and memory against a naive baseline.
"""
