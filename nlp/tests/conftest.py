"""Fixtures of the nlp tests: a private model directory, fresh per-process caches, tiny data."""
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"

# A tiny BERT so the transformers round trip trains in a couple of seconds.
TINY_BERT = {
    "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
    "max_length": 24, "epochs": 40, "batch_size": 4, "learning_rate": 3e-3, "min_char_freq": 10**12,
    "validation_fraction": 0.25, "num_threads": 1,
}


@pytest.fixture(autouse=True)
def _fresh_nlp_caches():
    """Each test starts with no loaded model and re-reads patterns (they are per-process caches)."""
    from nlp import runtime
    from nlp.entities import order_patterns

    runtime.reset()
    order_patterns.reset()
    yield
    runtime.reset()
    order_patterns.reset()


@pytest.fixture
def model_dir(settings, tmp_path):
    settings.CSBOT_MODEL_DIR = str(tmp_path / "models")
    return Path(settings.CSBOT_MODEL_DIR)


@pytest.fixture
def tiny_path() -> Path:
    return DATA / "tiny_intents.tsv"


@pytest.fixture
def tiny_examples(tiny_path) -> list[tuple[str, str]]:
    from nlp.datasets import read_labelled

    return read_labelled(tiny_path)
