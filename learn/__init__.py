"""Learning the offline answerer's weights from public data (`rag train`): collect → fit → write the artefact.

Above `eval` in the layers: it reuses the benchmark adapters and isolated indexes; nothing below imports it.
"""
