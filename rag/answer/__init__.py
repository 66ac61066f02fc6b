"""Answer: a question and an index to a verified, cited :class:`~rag.records.Answer`.

retrieve -> evidence -> prompt -> llm / llm_http -> cite (verification with
the support judge of :mod:`.judge`); :mod:`.followup` rewrites follow-up
questions and :mod:`.pipeline` runs the whole stage, for the assistant, the
evaluation and the benchmark alike.
"""
