"""Text: the pure language core every other stage uses.

Folding, language detection, stemming and number analysis (:mod:`.analysis`),
sentence boundaries (:mod:`.sentences`), amounts with their scale words
(:mod:`.numbers`) and the French/English lexicon (:mod:`.lexicon`). Nothing
here imports another stage.
"""
