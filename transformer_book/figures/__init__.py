"""The book's figures: ``plotting`` (heatmaps, curves and the house style, Korean fonts
included), ``architecture`` (the encoder-decoder map), ``attention_diagrams`` and
``decoding_diagrams`` (step-by-step drawings), on the shared kit ``_drawing``.

Nothing here is imported by the rest of the package: the figures draw what the models compute.
"""
