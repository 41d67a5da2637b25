"""Both backends: train → save → load → predict round trip, calibration sanity."""
import numpy as np
import pytest

from nlp.classifier import load_classifier, new_classifier
from nlp.classifier.base import TrainingError
from nlp.classifier.calibration import expected_calibration_error, fit_temperature, softmax
from nlp.evaluation import evaluate

from .conftest import TINY_BERT

BACKENDS = [("linear", {}), ("transformers", TINY_BERT)]


@pytest.mark.parametrize("backend,config", BACKENDS, ids=[b for b, _ in BACKENDS])
def test_round_trip_train_evaluate_save_load_predict(backend, config, tiny_examples, tmp_path):
    texts, labels = [t for t, _ in tiny_examples], [l for _, l in tiny_examples]
    # given a model trained on the tiny set
    model = new_classifier(backend, **config).fit(texts, labels)
    assert model.labels == ["greeting", "human_request", "refund"]
    # when it is evaluated on its training data it has learnt it
    report = evaluate(model, texts, labels)
    assert report["accuracy"] >= 0.9
    # and saved and loaded again
    loaded = load_classifier(model.save(tmp_path / backend))
    # then the loaded model predicts exactly the same probabilities
    probe = ["你好", "我要退款", "转人工", "完全无关的句子"]
    assert np.allclose(model.predict_proba(probe), loaded.predict_proba(probe), atol=1e-5)
    assert loaded.predict(["我要退款"]) == ["refund"]
    assert loaded.temperature == pytest.approx(model.temperature)
    # probabilities are a distribution per text
    probs = loaded.predict_proba(probe)
    assert probs.shape == (4, 3) and np.allclose(probs.sum(axis=1), 1.0)
    # the top-3 ranking is sorted
    ranking = loaded.rank("我要退款")
    assert ranking[0][0] == "refund" and [p for _, p in ranking] == sorted((p for _, p in ranking), reverse=True)
    # held-out predictions were recorded for the training report
    assert model.heldout is not None and "ece" in model.calibration


def test_quantized_transformer_predicts_the_same_labels(tiny_examples, tmp_path):
    texts, labels = [t for t, _ in tiny_examples], [l for _, l in tiny_examples]
    model = new_classifier("transformers", **TINY_BERT).fit(texts, labels)
    path = model.save(tmp_path / "bert")
    quantized = load_classifier(path, quantize=True)
    assert quantized.config.get("quantized")
    assert quantized.predict(texts) == load_classifier(path).predict(texts)


def test_training_needs_two_labels():
    with pytest.raises(TrainingError):
        new_classifier("linear").fit(["你好", "您好"], ["greeting", "greeting"])


def test_unknown_backend_is_an_error():
    with pytest.raises(ValueError):
        new_classifier("word2vec")


def test_fit_temperature_undoes_overconfidence():
    # given well-calibrated logits, then the same logits made 4x overconfident
    rng = np.random.default_rng(0)
    n, k = 4000, 5
    logits = rng.normal(size=(n, k)) * 2.0
    targets = np.array([rng.choice(k, p=p) for p in softmax(logits)])
    sharp = logits * 4.0
    # when a temperature is fitted on them
    temperature = fit_temperature(sharp, targets)
    # then it is about 4 and the calibration error drops
    assert 3.0 < temperature < 5.0
    assert expected_calibration_error(softmax(sharp, temperature), targets) < expected_calibration_error(softmax(sharp), targets)
    assert expected_calibration_error(softmax(sharp, temperature), targets) < 0.03


def test_ece_is_zero_for_perfect_confidence_and_large_for_wrong_certainty():
    targets = np.array([0, 1, 0, 1])
    assert expected_calibration_error(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]), targets) == 0.0
    assert expected_calibration_error(np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), targets) == 1.0


def test_linear_calibration_is_fitted_out_of_fold(tiny_examples):
    model = new_classifier("linear").fit([t for t, _ in tiny_examples], [l for _, l in tiny_examples])
    assert "out-of-fold" in model.calibration["method"]
    assert 0.0 <= model.calibration["ece"] <= 1.0
    assert model.temperature > 0


def test_a_local_pretrained_checkpoint_is_fine_tuned_never_downloaded(tiny_examples, tmp_path):
    from transformers import BertConfig, BertModel, BertTokenizer

    # given a local checkpoint (here a tiny random BERT with its own WordPiece vocabulary)
    checkpoint = tmp_path / "local-bert"
    checkpoint.mkdir()
    chars = sorted({c for text, _ in tiny_examples for c in text})
    (checkpoint / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n", encoding="utf-8")
    BertTokenizer(str(checkpoint / "vocab.txt")).save_pretrained(checkpoint)
    config = BertConfig(vocab_size=5 + len(chars), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    BertModel(config).save_pretrained(checkpoint)
    # when the transformers backend trains with it
    texts, labels = [t for t, _ in tiny_examples], [l for _, l in tiny_examples]
    settings_free = {k: v for k, v in TINY_BERT.items() if k not in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")}
    model = new_classifier("transformers", **settings_free, pretrained=str(checkpoint)).fit(texts, labels)
    # then it fine-tuned that checkpoint (its tokenizer, its size) and round-trips
    assert model.config["pretrained"] == str(checkpoint)
    assert model.model.config.hidden_size == 32
    loaded = load_classifier(model.save(tmp_path / "fine-tuned"))
    assert np.allclose(model.predict_proba(texts), loaded.predict_proba(texts), atol=1e-5)


def test_a_missing_pretrained_checkpoint_is_a_clear_error(tiny_examples):
    with pytest.raises(TrainingError, match="nothing is downloaded"):
        new_classifier("transformers", **TINY_BERT, pretrained="bert-base-chinese").fit(
            [t for t, _ in tiny_examples], [l for _, l in tiny_examples]
        )


def test_jieba_character_vectors_are_cached_on_disk(model_dir):
    from nlp.classifier import charvec

    charvec.jieba_char_vectors.cache_clear()
    vectors, index = charvec.jieba_char_vectors(8)
    assert list((model_dir / "cache").glob("csbot-jieba-charvec-*-8-*.npz"))
    charvec.jieba_char_vectors.cache_clear()
    again, index_again = charvec.jieba_char_vectors(8)
    assert np.array_equal(vectors, again) and index == index_again
    # related characters are closer than unrelated ones
    def sim(a, b):
        return float(vectors[index[a]] @ vectors[index[b]])

    assert sim("歌", "曲") > sim("歌", "泻")


@pytest.mark.parametrize("config", [{}, {"char_vectors": 0}, {"char_ngrams": (1, 3)}])
def test_linear_single_text_fast_path_equals_the_pipeline(config, tiny_examples, tmp_path):
    """Chat turns classify one message at a time through ``FastScorer``; it must give exactly
    the margins scikit-learn's pipeline gives, before and after a save/load round trip."""
    texts = [t for t, _ in tiny_examples]
    model = new_classifier("linear", **config).fit(texts, [l for _, l in tiny_examples])
    probes = [*texts, "完全没见过的句子", "a", "😀", ""]
    for current in (model, load_classifier(model.save(tmp_path / "m"))):
        scorer = current._fast_scorer()
        assert scorer is not None
        expected = current.pipeline.decision_function(probes)
        got = np.stack([scorer.scores(p) for p in probes])
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
        top = [current.labels[i] for i in np.argsort(-expected[0], kind="stable")[:3]]
        assert [name for name, _ in current.rank(probes[0])] == top


def test_linear_fast_path_steps_aside_for_pipelines_it_does_not_know(tiny_examples):
    model = new_classifier("linear", use_words=True).fit([t for t, _ in tiny_examples], [l for _, l in tiny_examples])
    assert model._fast_scorer() is None
    assert len(model.rank("你好")) == 3
