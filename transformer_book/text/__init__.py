"""From raw text to token ids and back, and the data the chapters train on.

``tokenizers`` (characters) and ``subword`` (SentencePiece) share one interface
(``protocols.Tokenizer``); ``corpus`` reads parallel corpora, ``bucketing`` cuts them into
batches by tokens, ``metrics`` scores translations (BLEU and chrF with sacreBLEU). ``data``
generates the chapters' tasks, ``hangul`` and ``korean_grammar`` the English->Korean sentence
corpus, ``datasets`` and ``download`` give the real corpora (Tatoeba shipped in ``corpora/``,
Multi30k downloaded).

Nothing here imports a model: this layer knows strings, ids and files only.
"""
