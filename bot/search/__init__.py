"""Keyword search over the store: a derived Tantivy index beside the database, and a pure re-scoring.

- :mod:`bot.search.query` turns what a user types into a :class:`~bot.search.query.ParsedQuery`
  (words, quoted phrases, ``author:`` terms, the word being typed).
- :mod:`bot.search.index` keeps the index (in ``<db>.index/``) and asks it for candidates; it knows no SQL:
  the store hands it the rows that changed since the cursor it last applied.
- :mod:`bot.search.rank` re-scores those candidates and says why each matched.
"""
