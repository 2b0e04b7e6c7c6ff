"""The other models the chapters build, from the core's parts or against them.

``rnn`` (chapter 1's recurrent baselines), ``rnnsearch`` (chapter 9's ``RNNSearch``), ``classifier``
(chapter 1's attention classifier), ``complexity`` (chapter 9: the cost of a layer),
``sentence`` (chapter 10: the encoder as a sentence encoder), ``language_model`` and
``sampling`` (chapter 13: the decoder alone and generating text).
"""
