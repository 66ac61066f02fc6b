"""Index: files on disk to a searchable index, and its lifecycle.

load (files to documents) -> chunk -> embed -> vectors (FAISS) + lexical (BM25)
-> store (numbered generations, manifest last); :mod:`.sync` updates an index
incrementally and :class:`.library.Library` owns one index for a running
assistant (load, refresh, reindex, remove, add an uploaded file).
"""
