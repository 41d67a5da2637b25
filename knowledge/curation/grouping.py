"""Group question texts by similarity, for the unanswered-questions page.

Features: each text is normalised with ``nlp.text.normalize_text`` (full/half width,
traditional → simplified, case, punctuation) and described by its jieba tokens
(``nlp.tokens.tokenize``: stop words removed, KB dictionary applied) plus the character
bigrams of those tokens joined (which survive segmentation differences such as 数字人民币 /
数字 人民币, and small typos). Texts become TF-IDF vectors (sublinear tf, l2-normalised) whose
IDF is fitted on the grouped texts *plus a reference corpus* — the KB's questions and similar
questions — so words every customer question has (怎么, 可以, 什么时候) weigh little and the
topic words weigh much; fitted on a few unanswered texts alone, IDF is noise.

Grouping is greedy "leader" clustering: texts are visited from the most frequent down; an
unassigned text starts a group and takes every unassigned text whose cosine similarity to it
is at least ``THRESHOLD``. The leader (the most frequent text) is the group's representative.
It is deterministic, costs groups × texts, and never chains unrelated texts together through
intermediate ones (as single-linkage agglomeration would).

``THRESHOLD = 0.3`` was set on hand-made pairs against the demo KB as reference: paraphrases
(可以用数字人民币付款吗 / 你们支持数字人民币吗 / 数字人民币能用吗 / 能不能用数字人民币支付: 0.45–0.61;
退款多久到账 / 退款什么时候到账啊: 0.43; 能寄到南极吗 / 南极可以寄吗: 0.37) group together, while
different questions stay at or below 0.11 (数字人民币 vs 南极, 发票抬头 vs 发票邮寄 vs 南极可以寄).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

THRESHOLD = 0.3
MAX_TEXTS = 3000  # distinct texts grouped per page view (the most frequent); keeps the matrix small


@lru_cache(maxsize=50_000)
def text_features(text: str) -> tuple[str, ...]:
    """Tokens (``w:``) and character bigrams of the joined tokens (``b:``) of raw ``text``."""
    from nlp.text import normalize_text
    from nlp.tokens import tokenize

    tokens = tokenize(normalize_text(text))
    joined = "".join(tokens)
    return tuple([f"w:{t}" for t in tokens] + [f"b:{a}{b}" for a, b in zip(joined, joined[1:])])


def _identity(features: tuple[str, ...]) -> tuple[str, ...]:
    return features


@dataclass(frozen=True)
class TextGroup:
    """Indexes into the grouped texts; ``members[0]`` is the leader (the representative)."""

    members: tuple[int, ...]
    similarity: tuple[float, ...]  # each member's cosine to the leader (1.0 for the leader)


def group_texts(
    texts: Sequence[str],
    weights: Sequence[int] | None = None,
    *,
    reference: Sequence[str] = (),
    threshold: float = THRESHOLD,
) -> list[TextGroup]:
    """Group ``texts`` (distinct raw visitor texts); ``weights`` (occurrence counts) order the leaders.

    ``reference`` texts (the KB's questions) only inform the IDF. Returns groups ordered by
    total weight, most first; every text is in exactly one group.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(texts)
    if n == 0:
        return []
    weights = list(weights) if weights is not None else [1] * n
    features = [text_features(t) for t in texts]
    vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True)
    vectorizer.fit([text_features(t) for t in reference] + features)
    matrix = vectorizer.transform(features)
    order = sorted(range(n), key=lambda i: (-weights[i], len(texts[i]), i))
    unassigned = set(range(n))
    groups: list[TextGroup] = []
    for leader in order:
        if leader not in unassigned:
            continue
        sims = (matrix @ matrix[leader].T).toarray().ravel()
        members = [leader] + [i for i in order if i != leader and i in unassigned and sims[i] >= threshold]
        unassigned.difference_update(members)
        groups.append(TextGroup(members=tuple(members), similarity=tuple(round(float(sims[i]), 3) for i in members)))
    groups.sort(key=lambda g: (-sum(weights[i] for i in g.members), g.members[0]))
    return groups
