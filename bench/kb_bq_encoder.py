"""BQ FAQ view with csbot's trainable encoder (``manage.py nlu_train_encoder``): tune on dev, report on test.

The encoder is trained through the product code path — the ``nlu_train_encoder`` command on
BQ *train* (``../shared/data/bq_corpus/train.tsv``, label-1 rows; read in place) into a
throw-away directory that is deleted when the script ends — and loaded the way a deployment
loads it, ``NLP_EMBEDDING_MODEL=<that directory>`` → ``nlp.matcher.embeddings.get_embedder``.
Everything else is ``bench/kb_bq.py``'s protocol: lexical settings and the matcher's weights
are learned on dev; encoder hyperparameters (a small grid) are chosen on dev's MRR@10 of the
matcher; test is run once with the chosen ones. Test queries that also occur in BQ train
(whitespace ignored) are reported separately (leak check).

    python bench/kb_bq_encoder.py [--grid 128x4 256x4 ...]   # prints JSON; numbers go to bench/results/kb.md

The default grid (7 trainings, 20 s – 3.5 min each on one core) takes ~13 min in all.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_common import DATA, percentile, setup_django

TRAIN = DATA / "bq_corpus" / "train.tsv"


def train_through_command(out: Path, *, dim: int, epochs: int) -> tuple[float, str]:
    """Run ``manage.py nlu_train_encoder`` (in-process) and return (seconds, its summary line)."""
    from io import StringIO

    from django.core.management import call_command

    buffer = StringIO()
    started = time.perf_counter()
    call_command("nlu_train_encoder", "--pairs", str(TRAIN), "--out", str(out), "--dim", str(dim), "--epochs", str(epochs), stdout=buffer)
    return time.perf_counter() - started, buffer.getvalue().strip().splitlines()[-1]


def shipped_embedder(directory: Path):
    """What a deployment with ``NLP_EMBEDDING_MODEL=<directory>`` gets."""
    from django.conf import settings

    from nlp.matcher.embeddings import EncoderEmbedder, get_embedder

    settings.NLP_EMBEDDING_MODEL = str(directory)
    embedder = get_embedder()
    assert isinstance(embedder, EncoderEmbedder), type(embedder)
    return embedder


def main() -> None:
    import argparse

    import kb_bq
    from kb_bq import Split, _compact, dense_only, evaluate, read_tsv, train_on

    parser = argparse.ArgumentParser()
    parser.add_argument("--grid", nargs="+", default=["128x4", "256x4", "128x8", "256x8", "256x16", "512x8", "512x16"], help="DIMxEPOCHS configurations tried on dev")
    args = parser.parse_args()
    if not TRAIN.exists():
        sys.exit(f"BQ corpus not found at {TRAIN} (set CSBOT_SHARED_DATA)")
    workdir = setup_django()
    started = time.perf_counter()
    results: dict[str, object] = {}
    dev, test = Split("dev"), Split("test")
    fw, b, _ = kb_bq.choose_lexical(dev)
    results["lexical"] = {"family_weights": fw, "b": b}
    dev_index, test_index = dev.index(family_weights=fw, b=b), test.index(family_weights=fw, b=b)
    lexical_model = train_on(dev, dev_index)
    results["dev_matcher_lexical"], _ = evaluate(dev, dev_index, lexical_model)

    # 1. Encoder hyperparameters on dev (each trained through the command on BQ train).
    tried = []
    for spec in args.grid:
        dim, epochs = (int(x) for x in spec.split("x"))
        directory = workdir / "encoders" / spec
        seconds, line = train_through_command(directory, dim=dim, epochs=epochs)
        embedder = shipped_embedder(directory)
        model = train_on(dev, dev_index, encoder=embedder)
        dev_metrics, _ = evaluate(dev, dev_index, model, encoder=embedder)
        tried.append({
            "config": spec, "train_s": round(seconds, 1), "command_output": line,
            "dev_dense_only": dense_only(dev, embedder), "dev_matcher_encoder": dev_metrics,
        })
        print(json.dumps(tried[-1], ensure_ascii=False), file=sys.stderr, flush=True)
    results["dev_grid"] = tried
    best = max(tried, key=lambda t: t["dev_matcher_encoder"]["MRR@10"])
    results["chosen"] = best["config"]

    # 2. Test, once, with the chosen encoder and the matcher weights learned on dev.
    directory = workdir / "encoders" / best["config"]
    embedder = shipped_embedder(directory)
    model = train_on(dev, dev_index, encoder=embedder)
    seen = {_compact(r[k]) for r in read_tsv(TRAIN) for k in ("text_a", "text_b")}
    results["test_n"] = len(test.queries)
    results["test_n_no_train_overlap"] = sum(_compact(q) not in seen for q in test.raw_queries)
    results["test_matcher_lexical"], _ = evaluate(test, test_index, lexical_model)
    results["test_matcher_lexical_no_train_overlap"], _ = evaluate(test, test_index, lexical_model, skip=seen)
    results["test_dense_only"] = dense_only(test, embedder)
    results["test_matcher_encoder"], _ = evaluate(test, test_index, model, encoder=embedder)
    results["test_matcher_encoder_no_train_overlap"], _ = evaluate(test, test_index, model, encoder=embedder, skip=seen)
    results["weights_encoder"] = model.weights()

    # 3. Latency: a fresh embedder from the same directory (no question cached), KB vectors precomputed
    #    as the index build does; the encoder alone, then search + match with it.
    from nlp.matcher.embeddings import EncoderEmbedder

    live = EncoderEmbedder(str(directory))
    live.refresh(test.texts)
    queries = [text for (text, _), _ in test.queries]
    encode_ms = []
    for text in queries:
        t0 = time.perf_counter()
        live._embed([text], True)
        encode_ms.append((time.perf_counter() - t0) * 1000)
    results["test_latency_encoder_only_ms"] = {"p50": round(percentile(encode_ms, 50), 4), "p99": round(percentile(encode_ms, 99), 4), "n": len(encode_ms)}
    sample = Split.__new__(Split)
    sample.__dict__.update(test.__dict__)
    sample._vectors = {}
    sample.queries, sample.raw_queries = test.queries[:400], test.raw_queries[:400]
    _, timings = evaluate(sample, test_index, model, encoder=live)
    results["test_latency_search_match_ms"] = {"p50": round(percentile(timings, 50), 3), "p99": round(percentile(timings, 99), 3), "n": len(timings)}
    _, timings = evaluate(sample, test_index, lexical_model)
    results["test_latency_search_match_lexical_ms"] = {"p50": round(percentile(timings, 50), 3), "p99": round(percentile(timings, 99), 3), "n": len(timings)}
    results["encoder_files_kb"] = {p.name: round(p.stat().st_size / 1024, 1) for p in directory.iterdir()}
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
