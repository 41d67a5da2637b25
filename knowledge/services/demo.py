"""Load the demo shop's knowledge base (云朵优选) from the fixtures shipped with the app."""
from __future__ import annotations

import json
from pathlib import Path

from knowledge.models import split_terms

from .entries import EntryData, entry_upsert
from .indexing import kb_index_schedule

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Category name -> slug (= the shop intent with the same name in nlp's demo intents).
DEMO_CATEGORIES: dict[str, str] = {
    "订单": "order",
    "物流配送": "shipping",
    "退换货": "returns",
    "退款": "refund",
    "支付": "payment",
    "发票": "invoice",
    "账户与安全": "account",
    "优惠券与活动": "coupon",
    "会员": "membership",
    "售后与维修": "after_sales",
    "商品咨询": "product",
}


def demo_kb_rows() -> list[dict]:
    """Every demo entry as the JSONL import format describes it."""
    rows: list[dict] = []
    for path in sorted(FIXTURES.glob("demo_kb_*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            rows.extend(json.loads(line) for line in handle if line.strip())
    return rows


# The demo shop's products (the ones on its page and in the answers): standard name -> aliases.
DEMO_PRODUCTS: dict[str, tuple[str, ...]] = {
    "空气炸锅": ("炸锅", "云朵空气炸锅"),
    "扫地机器人": ("扫地机", "扫拖机器人", "智能扫地机器人"),
    "降噪蓝牙耳机": ("蓝牙耳机", "降噪耳机", "无线耳机"),
    "轻羽绒服": ("羽绒服",),
    "赣南脐橙": ("脐橙",),
    "手机": ("智能手机",),
    "笔记本电脑": ("笔记本", "笔记本电脑"),
}


def demo_products_load() -> int:
    """Create or update the demo product-name groups; returns how many rows changed (0 on a rerun)."""
    from knowledge.models import SynonymGroup

    changed = 0
    for canonical, aliases in DEMO_PRODUCTS.items():
        terms = ", ".join(a for a in aliases if a != canonical)
        group = SynonymGroup.objects.filter(canonical=canonical).first()
        if group is None:
            SynonymGroup.objects.create(canonical=canonical, terms=terms, is_product=True)
            changed += 1
        elif group.terms != terms or not group.is_product:
            group.terms, group.is_product = terms, True
            group.save(update_fields=["terms", "is_product", "updated_at"])
            changed += 1
    return changed


def demo_kb_load() -> dict[str, int]:
    """Upsert every demo entry and product name; returns ``{"entries": n, "changed": k,
    "products_changed": p}`` (k and p are 0 on a second run)."""
    rows = demo_kb_rows()
    changed = 0
    changed_ids: list[int] = []
    for row in rows:
        entry, was_changed = entry_upsert(
            EntryData(
                external_id=row["id"],
                category=row["category"],
                question=row["question"],
                answer=row["answer"],
                similar_questions=tuple(row.get("similar_questions") or ()),
                keywords=tuple(split_terms(row["keywords"]) if isinstance(row.get("keywords"), str) else row.get("keywords") or ()),
                status=row.get("status", "published"),
                category_slugs=DEMO_CATEGORIES,
            ),
            source="demo",
            index=False,
        )
        changed += was_changed
        if was_changed:
            changed_ids.append(entry.pk)
    kb_index_schedule(changed_ids)
    return {"entries": len(rows), "changed": changed, "products_changed": demo_products_load()}
