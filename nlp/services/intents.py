"""Create and update intents with their examples idempotently."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from nlp.models import Intent, IntentExample

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class IntentData:
    name: str
    display_name: str
    examples: tuple[str, ...] = ()
    description: str = ""
    is_builtin: bool = False


@transaction.atomic
def intent_upsert(data: IntentData) -> tuple[Intent, bool]:
    """Create the intent or update its fields; add missing examples (never deletes a manager's)."""
    intent, created = Intent.objects.get_or_create(
        name=data.name, defaults={"display_name": data.display_name, "description": data.description, "is_builtin": data.is_builtin}
    )
    changed = created
    if not created:
        fields = {"display_name": data.display_name, "description": data.description, "is_builtin": data.is_builtin}
        diff = [k for k, v in fields.items() if getattr(intent, k) != v]
        if diff:
            for k in diff:
                setattr(intent, k, fields[k])
            intent.save(update_fields=[*diff, "updated_at"])
            changed = True
    existing = set(intent.examples.values_list("text", flat=True))
    new = [t for t in dict.fromkeys(e.strip() for e in data.examples) if t and t not in existing]
    if new:
        IntentExample.objects.bulk_create([IntentExample(intent=intent, text=t) for t in new])
        changed = True
    return intent, changed


def demo_intents_load() -> dict[str, int]:
    """Upsert the built-in and demo shop intents shipped in ``nlp/fixtures/demo_intents.json``."""
    with (FIXTURES / "demo_intents.json").open(encoding="utf-8") as handle:
        rows = json.load(handle)
    changed = 0
    for row in rows:
        _, was_changed = intent_upsert(
            IntentData(
                name=row["name"],
                display_name=row["display_name"],
                description=row.get("description", ""),
                is_builtin=bool(row.get("is_builtin")),
                examples=tuple(row.get("examples", ())),
            )
        )
        changed += was_changed
    return {"intents": len(rows), "examples": sum(len(r.get("examples", ())) for r in rows), "changed": changed}
