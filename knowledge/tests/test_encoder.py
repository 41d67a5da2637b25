"""The trainable n-gram encoder (nlp.matcher.encoder), its command, and the matcher with NLP_EMBEDDING_MODEL=<encoder dir>."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from knowledge.matching import current_matcher
from knowledge.search.local import current_index
from nlp.matcher.encoder import CharNgramEncoder, EncoderConfig, PairsError, read_pairs, train_encoder

from .fixtures import SMALL_KB

# Hand-made paraphrase pairs: six topics, four pairs each (no research data).
TOPICS = {
    "refund": ["退款多久到账", "钱什么时候退回来", "退款几天能到", "退回的钱多久到银行卡", "退款到账要几天"],
    "shipping": ["什么时候发货", "下单后多久发出", "几天能寄出来", "付款后多久发货", "怎么还没发货"],
    "invoice": ["怎么开发票", "发票在哪里申请", "能开增值税发票吗", "我要开票", "电子发票怎么开"],
    "password": ["忘记密码怎么办", "密码忘了登录不上", "怎么重置登录密码", "找回密码", "登录密码记不得了"],
    "logistics": ["怎么查物流", "快递到哪里了", "物流信息在哪看", "查询快递进度", "包裹现在在哪"],
    "account": ["怎么注销账号", "我想删除账户", "账号注销在哪", "如何注销账户", "不用了想把号注销"],
}
PAIRS = [(texts[0], other) for texts in TOPICS.values() for other in texts[1:]]
SMALL = EncoderConfig(dim=32, min_count=1, epochs=40, batch_size=8, lr=0.05, seed=3)


@pytest.fixture(scope="module")
def trained() -> CharNgramEncoder:
    return train_encoder(PAIRS, SMALL)


def _margin(encoder: CharNgramEncoder) -> float:
    """Mean cosine of same-topic text pairs minus mean cosine of different-topic pairs."""
    texts = [t for texts in TOPICS.values() for t in texts]
    topic = np.repeat(np.arange(len(TOPICS)), [len(t) for t in TOPICS.values()])
    vectors = encoder.encode(texts)
    sims = vectors @ vectors.T
    same = (topic[:, None] == topic[None, :]) & ~np.eye(len(texts), dtype=bool)
    different = topic[:, None] != topic[None, :]
    return float(sims[same].mean() - sims[different].mean())


def test_training_brings_paraphrases_closer_than_unrelated_questions(trained):
    # given the same model before training (zero epochs: random n-gram vectors)
    untrained = train_encoder(PAIRS, EncoderConfig(**{**SMALL.__dict__, "epochs": 0}))
    # then training separates same-topic from different-topic questions much more
    assert _margin(trained) > 0.4
    assert _margin(trained) > _margin(untrained) + 0.2
    # and every training pair is closer than any question of another topic
    for a, b in PAIRS:
        q, near = trained.encode([a, b])
        others = trained.encode([t for texts in TOPICS.values() if a not in texts for t in texts])
        assert float(near @ q) > float((others @ q).max()), (a, b)


def test_vectors_are_unit_length_and_unknown_text_is_zero(trained):
    vectors = trained.encode(["退款多久到账", "ＸＹＺ§"])
    assert vectors.dtype == np.float32 and vectors.shape == (2, 32)
    assert abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-5
    assert not vectors[1].any()  # no known n-gram: the zero vector, cosine 0 with everything


def test_training_is_deterministic_for_a_seed():
    first = train_encoder(PAIRS, SMALL)
    second = train_encoder(PAIRS, SMALL)
    assert first.fingerprint == second.fingerprint
    assert np.array_equal(first.matrix, second.matrix)
    other = train_encoder(PAIRS, EncoderConfig(**{**SMALL.__dict__, "seed": 4}))
    assert other.fingerprint != first.fingerprint


def test_save_and_load_give_identical_vectors(trained, tmp_path):
    trained.save(tmp_path / "enc")
    assert sorted(p.name for p in (tmp_path / "enc").iterdir()) == ["encoder.json", "weights.npy"]
    loaded = CharNgramEncoder.load(tmp_path / "enc")
    texts = ["退款多久到账", "包裹现在在哪", "完全没见过的话"]
    assert np.array_equal(loaded.encode(texts), trained.encode(texts))
    assert loaded.config == trained.config and loaded.fingerprint == trained.fingerprint
    # a weights file that does not belong to the vocabulary is refused, not silently used
    np.save(tmp_path / "enc" / "weights.npy", np.zeros_like(trained.matrix))
    with pytest.raises(ValueError, match="fingerprint"):
        CharNgramEncoder.load(tmp_path / "enc")
    with pytest.raises(ValueError):
        CharNgramEncoder.load(tmp_path / "missing")


def test_read_pairs_tsv_with_header_and_labels_and_jsonl(tmp_path):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("id\ttext_a\ttext_b\tlabel\n1\t退款多久到账\t钱什么时候退\t1\n2\t退款多久到账\t怎么开发票\t0\n\n3\t找回密码\t忘记密码\t1\n", encoding="utf-8")
    assert read_pairs(tsv) == [("退款多久到账", "钱什么时候退"), ("找回密码", "忘记密码")]
    bare = tmp_path / "bare.tsv"
    bare.write_text("退款多久到账\t钱什么时候退\n找回密码\t忘记密码\t1\n怎么开发票\t找回密码\t0\n", encoding="utf-8")
    assert read_pairs(bare) == [("退款多久到账", "钱什么时候退"), ("找回密码", "忘记密码")]
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text('{"a": "退款多久到账", "b": "钱什么时候退"}\n{"a": "x", "b": "y", "label": 0}\n', encoding="utf-8")
    assert read_pairs(jsonl) == [("退款多久到账", "钱什么时候退")]
    # a kb_export JSONL file: each entry's question paired with each similar question
    kb = tmp_path / "kb.jsonl"
    kb.write_text(
        '{"id": "R1", "question": "退款多久到账", "similar_questions": ["钱什么时候退", "退款几天到"], "answer": "…", "status": "published"}\n'
        '{"id": "R2", "question": "旧问题", "similar_questions": ["旧问法"], "answer": "…", "status": "archived"}\n',
        encoding="utf-8",
    )
    assert read_pairs(kb) == [("退款多久到账", "钱什么时候退"), ("退款多久到账", "退款几天到")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"a": "退款", "b": "钱"}\n{"a": "退款"\n', r"bad\.jsonl:2: not valid JSON"),
        ("bad2.jsonl", '{"a": "退款", "b": ""}\n', r"bad2\.jsonl:1: .*non-empty"),
        ("cols.tsv", "退款多久到账\t钱什么时候退\n只有一列\n", r"cols\.tsv:2: expected text_a"),
        ("label.tsv", "退款多久到账\t钱什么时候退\t是\n", r"label\.tsv:1: label must be 0 or 1"),
        ("negatives.tsv", "退款多久到账\t怎么开发票\t0\n", r"no positive pairs"),
    ],
)
def test_read_pairs_names_the_bad_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PairsError, match=message):
        read_pairs(path)


def _pairs_file(path: Path) -> Path:
    path.write_text("".join(f"{a}\t{b}\t1\n" for a, b in PAIRS), encoding="utf-8")
    return path


def test_command_trains_and_saves_where_it_says(tmp_path, settings, capsys):
    settings.CSBOT_MODEL_DIR = str(tmp_path / "models")
    pairs = _pairs_file(tmp_path / "pairs.tsv")
    # when trained with an explicit --out
    call_command("nlu_train_encoder", "--pairs", str(pairs), "--out", str(tmp_path / "enc"), "--epochs", "3", "--dim", "16")
    out = capsys.readouterr().out
    assert str(tmp_path / "enc") in out and f"{len(PAIRS)} 对问法" in out
    loaded = CharNgramEncoder.load(tmp_path / "enc")
    assert loaded.dimension == 16 and loaded.config.epochs == 3
    meta = json.loads((tmp_path / "enc" / "encoder.json").read_text(encoding="utf-8"))
    assert meta["summary"]["pairs"] == len(PAIRS) and meta["summary"]["source"] == ["pairs.tsv"]
    # and without --out (and with a second pairs file): a timestamped directory under CSBOT_MODEL_DIR/encoders
    extra = tmp_path / "extra.jsonl"
    extra.write_text('{"a": "优惠券怎么用", "b": "券在哪里使用"}\n', encoding="utf-8")
    call_command("nlu_train_encoder", "--pairs", str(pairs), "--pairs", str(extra), "--epochs", "1", "--dim", "8")
    made = list((tmp_path / "models" / "encoders").iterdir())
    assert len(made) == 1 and (made[0] / "encoder.json").is_file()
    assert str(made[0]) in capsys.readouterr().out
    assert CharNgramEncoder.load(made[0]).summary["pairs"] == len(PAIRS) + 1


def test_command_bad_input_is_a_clear_error_and_writes_nothing(tmp_path):
    out = tmp_path / "enc"
    with pytest.raises(CommandError, match="file not found"):
        call_command("nlu_train_encoder", "--pairs", str(tmp_path / "nope.tsv"), "--out", str(out))
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{broken\n", encoding="utf-8")
    with pytest.raises(CommandError, match="bad.jsonl:1"):
        call_command("nlu_train_encoder", "--pairs", str(bad), "--out", str(out))
    one = tmp_path / "one.tsv"
    one.write_text("退款多久到账\t钱什么时候退\n", encoding="utf-8")
    with pytest.raises(CommandError, match="at least 2"):
        call_command("nlu_train_encoder", "--pairs", str(one), "--out", str(out))
    with pytest.raises(CommandError, match="--epochs"):
        call_command("nlu_train_encoder", "--pairs", str(one), "--out", str(out), "--epochs", "0")
    assert not out.exists()
    # an existing encoder is not overwritten without --force
    pairs = _pairs_file(tmp_path / "pairs.tsv")
    call_command("nlu_train_encoder", "--pairs", str(pairs), "--out", str(out), "--epochs", "1", "--dim", "8")
    before = (out / "weights.npy").read_bytes()
    with pytest.raises(CommandError, match="--force"):
        call_command("nlu_train_encoder", "--pairs", str(pairs), "--out", str(out), "--epochs", "1", "--dim", "8", "--seed", "9")
    assert (out / "weights.npy").read_bytes() == before
    call_command("nlu_train_encoder", "--pairs", str(pairs), "--out", str(out), "--epochs", "1", "--dim", "8", "--seed", "9", "--force")
    assert (out / "weights.npy").read_bytes() != before


@pytest.fixture
def encoder_dir(tmp_path, settings):
    """NLP_EMBEDDING_MODEL=<an encoder trained on the small KB's question/similar-question pairs>."""
    from nlp.matcher.embeddings import get_embedder

    pairs = [(d.question, s) for d in SMALL_KB if d.status != "draft" for s in d.similar_questions] + PAIRS
    directory = train_encoder(pairs, SMALL).save(tmp_path / "kb-encoder")
    settings.NLP_EMBEDDING_MODEL = str(directory)
    return get_embedder()


def test_matcher_with_an_encoder_dir_trains_and_answers(small_kb, encoder_dir, analysed):
    from knowledge.selectors import faq_match
    from nlp.matcher.embeddings import EncoderEmbedder

    # given NLP_EMBEDDING_MODEL pointing at a trained encoder directory
    assert isinstance(encoder_dir, EncoderEmbedder) and encoder_dir.dimension == 32
    # then the index carries its vectors and the matcher its features
    built = current_index()
    assert built.unit_vectors is not None and built.unit_vectors.shape == (built.index.n_units, 32)
    matcher = current_matcher(wait=True)
    assert matcher.model.feature_names[-8:] == (
        "embedding_cosine", "embedding_rel_top", "embedding_centroid", "embedding_centroid_rel_top", "embedding_answer", "embedding_answer_rel_top",
        "oos_embedding", "oos_embedding_rel",
    )
    # and faq_match answers paraphrases with the right entry first
    for question, expected in [("退回的钱多久到银行卡", "REFUND-1"), ("密码记不得了登录不了", "ACC-1"), ("包裹现在在哪", "SHIP-2")]:
        match = faq_match(analysed(question), limit=3)
        assert match.candidates and match.candidates[0].external_id == expected, (question, [c.external_id for c in match.candidates])


def test_one_turn_costs_one_question_embedding_and_cache_name_follows_the_weights(small_kb, encoder_dir, monkeypatch):
    encoder_dir.encode(["退款一般几天能到", "下单后多久发货"])
    calls = []
    real = encoder_dir._embed
    monkeypatch.setattr(encoder_dir, "_embed", lambda texts, is_query: calls.append(list(texts)) or real(texts, is_query))
    encoder_dir.cosine_stats("退款要等几天", [("退款一般几天能到",), ("下单后多久发货",)])
    encoder_dir.cosine_stats("退款要等几天", [("退款一般几天能到",)])
    assert calls == [["退款要等几天"]]
    # KB vectors and matchers are persisted per cache name: it changes with the weights
    assert encoder_dir.model.fingerprint in encoder_dir.cache_name()
