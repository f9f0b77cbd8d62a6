"""Pieces shared by the hybrid searches (archival memory, conversation history):
the full-text query and reciprocal rank fusion.

Full-text search uses PostgreSQL's `english` configuration (stemming, stop
words; numbers and ids such as `INV-2024-0042` are kept as tokens). A query is
an OR of its words, each quoted (so punctuation inside a token, as in an id,
becomes a phrase, and no word is read as an operator); ts_rank_cd ranks
documents matching more of the words, closer together, higher.

Reciprocal rank fusion (Cormack et al., 2009) merges rankings without
comparing their scores: score(d) = Σ 1 / (k + rank_i(d)), k = 60.
"""
from __future__ import annotations

import re
from collections.abc import Hashable, Sequence

from sqlalchemy import cast, func, literal
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.sql.elements import ColumnElement

TS_CONFIG = "english"
RRF_K = 60
MAX_QUERY_WORDS = 64
_TOKEN = re.compile(r'[^\s"]+')


def or_query_text(query: str) -> str:
    """The websearch_to_tsquery input matching any word of `query`."""
    words = _TOKEN.findall(query)[:MAX_QUERY_WORDS]
    return " or ".join(f'"{w}"' for w in words)


def tsquery(query: str) -> ColumnElement:
    """An OR tsquery of the words of `query` (empty when it has no lexemes)."""
    return func.websearch_to_tsquery(cast(literal(TS_CONFIG), REGCONFIG), or_query_text(query))


def rrf(rankings: Sequence[Sequence[Hashable]], k: int = RRF_K) -> dict[Hashable, float]:
    """Fused score of every item of `rankings` (each best first)."""
    scores: dict[Hashable, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores
