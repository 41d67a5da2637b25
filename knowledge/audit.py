"""Which FAQ entries the bot confuses with each other, found from the KB alone.

Every standard and similar question of every entry is asked as a visitor would, with its own
text hidden (the leave-one-out view the matcher is trained on), and matched by the live
matcher. When another entry wins, the two entries overlap for the bot: a customer asking in
those words may get the other answer. Pairs are ranked by how many of their texts go to the
other side. Typical causes a manager fixes: two entries that answer the same question
(merge them), a similar question filed under the wrong entry (move it), or two standard
questions too alike to tell apart (sharpen one).

Needs no labelled questions, so it can run on any deployment's KB; it costs one search and
match per KB text asked (the demo KB's ~2,700 texts: seconds; with a sentence-embedding model,
the texts' vectors are already cached by the index). A larger KB is sampled
(``MAX_AUDIT_TEXTS``, a fixed seed so two runs compare): at 100k entries every text would take
hours.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from nlp.matcher import TOP_N, QueryView

from .matching import active_intent_model, current_matcher, training_search
from .search.local import BuiltIndex, current_index

MAX_AUDIT_TEXTS = 3000  # KB texts asked per audit; more are sampled (seconds, not hours, at 100k entries)


@dataclass(frozen=True)
class EntryRef:
    entry_id: int
    external_id: str
    question: str


@dataclass(frozen=True)
class Confusion:
    """One KB text that, asked with itself hidden, is matched to another entry."""

    text: str
    own: EntryRef
    chosen: EntryRef
    probability: float  # the matcher's probability for the wrong entry


@dataclass
class ConfusedPair:
    """Two entries and the texts of each that go to the other (``a`` has the lower entry id)."""

    a: EntryRef
    b: EntryRef
    a_texts: int  # how many texts each entry has
    b_texts: int
    confusions: list[Confusion] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.confusions)

    @property
    def share(self) -> float:
        """Confused texts over the two entries' texts: 1.0 means the bot cannot tell them apart."""
        return self.count / max(1, self.a_texts + self.b_texts)

    def as_dict(self, *, examples: int = 5) -> dict:
        ref = lambda e: {"entry_id": e.entry_id, "id": e.external_id, "question": e.question}  # noqa: E731
        worst = sorted(self.confusions, key=lambda c: -c.probability)[:examples]
        return {
            "a": ref(self.a),
            "b": ref(self.b),
            "count": self.count,
            "share": round(self.share, 3),
            "examples": [{"text": c.text, "from": c.own.external_id, "to": c.chosen.external_id, "probability": round(c.probability, 3)} for c in worst],
        }


@dataclass(frozen=True)
class KbAudit:
    texts: int  # KB texts asked
    confused: int  # of which matched to another entry
    pairs: list[ConfusedPair]
    total_texts: int = 0  # KB texts in all (more than ``texts`` when sampled)

    @property
    def sampled(self) -> bool:
        return self.total_texts > self.texts

    def as_dict(self, *, examples: int = 5) -> dict:
        return {
            "texts": self.texts,
            "total_texts": self.total_texts,
            "sampled": self.sampled,
            "confused": self.confused,
            "confused_share": round(self.confused / max(1, self.texts), 4),
            "pairs": [p.as_dict(examples=examples) for p in self.pairs],
        }


def _ref(built: BuiltIndex, position: int) -> EntryRef:
    doc = built.documents[position]
    return EntryRef(doc.entry_id, doc.external_id, doc.question)


def kb_confusions(*, built: BuiltIndex | None = None, min_probability: float = 0.0, max_texts: int = MAX_AUDIT_TEXTS) -> KbAudit:
    """Ask every text of every entry (itself hidden) and collect the entries that win instead.

    ``min_probability``: only count a wrong winner at least this likely (e.g. the answer
    threshold, to see only confusions that would be answered wrongly). Entries with a single
    text are asked too: hiding it leaves nothing of the entry, so any confident winner is a
    real overlap. More than ``max_texts`` texts are sampled (fixed seed). Read-only.
    """
    built = built or current_index()
    matcher = current_matcher(built, wait=True)
    if matcher is None or not built.documents:
        return KbAudit(0, 0, [], total_texts=0)
    index = built.index
    search = training_search(built)
    units: list[tuple[int, int, str, tuple[str, ...]]] = []
    for position, doc in enumerate(index.docs):
        start = int(index.unit_start[position])
        units.extend((position, start + k, text, tokens) for k, (text, tokens) in enumerate(doc.units) if text)
    total = len(units)
    if total > max_texts:
        units = sorted(random.Random(7).sample(units, max_texts))
    _, intent_fn = active_intent_model()
    rankings: Sequence[list[tuple[str, float]]] = intent_fn([u[2] for u in units]) if intent_fn else [[] for _ in units]
    pairs: dict[tuple[int, int], ConfusedPair] = {}
    confused = 0
    for (position, unit, text, tokens), ranking in zip(units, rankings):
        hits = search(text, tokens, [unit], [])[:TOP_N]
        if not hits:
            continue
        intent, confidence = ranking[0] if ranking else (None, 0.0)
        query = QueryView(text=text, tokens=tokens, intent=intent, confidence=float(confidence), intent_probs=tuple(ranking))
        probabilities = matcher.probabilities(query, hits, centroids=[h.centroid for h in hits])
        best = max(range(len(hits)), key=lambda i: (probabilities[i], hits[i].score))
        winner = hits[best].group
        if winner == position or float(probabilities[best]) < min_probability:
            continue
        confused += 1
        low, high = sorted((position, winner))
        pair = pairs.get((low, high))
        if pair is None:
            pair = pairs[(low, high)] = ConfusedPair(
                _ref(built, low), _ref(built, high), len(index.docs[low].units), len(index.docs[high].units)
            )
        pair.confusions.append(Confusion(text, _ref(built, position), _ref(built, winner), float(probabilities[best])))
    ranked = sorted(pairs.values(), key=lambda p: (-p.count, -p.share, p.a.entry_id, p.b.entry_id))
    return KbAudit(len(units), confused, ranked, total_texts=total)
