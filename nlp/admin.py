"""Managers' admin for intents, their examples and trained model versions."""
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .models import Intent, IntentExample, ModelVersion


class IntentExampleInline(admin.TabularInline):
    model = IntentExample
    extra = 3
    fields = ["text"]


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ["name", "display_name", "is_builtin", "enabled", "example_count", "updated_at"]
    list_filter = ["is_builtin", "enabled"]
    search_fields = ["name", "display_name", "description", "examples__text"]
    inlines = [IntentExampleInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_example_count=Count("examples", distinct=True))

    @admin.display(description=_("例句数"), ordering="_example_count")
    def example_count(self, obj: Intent) -> int:
        return obj._example_count

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_builtin:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(IntentExample)
class IntentExampleAdmin(admin.ModelAdmin):
    list_display = ["text", "intent", "created_at"]
    list_filter = ["intent"]
    search_fields = ["text", "intent__name", "intent__display_name"]
    list_select_related = ["intent"]
    autocomplete_fields = ["intent"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "backend", "status", "is_active", "n_intents", "n_examples", "accuracy", "training_seconds", "created_at"]
    list_filter = ["backend", "status", "is_active"]
    search_fields = ["data_hash", "artifact_path", "data_source"]
    readonly_fields = [
        "backend", "status", "artifact_path", "data_hash", "data_source", "n_examples", "n_intents",
        "training_seconds", "metrics", "report", "error", "trained_by", "created_at", "updated_at",
    ]

    @admin.display(description=_("准确率"))
    def accuracy(self, obj: ModelVersion) -> str:
        value = (obj.metrics or {}).get("accuracy")
        return f"{value:.3f}" if isinstance(value, (int, float)) else "—"
