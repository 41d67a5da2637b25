"""Managers' admin for the knowledge base."""
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .models import Category, Entry, SimilarQuestion, SynonymGroup


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "sort_order", "entry_count"]
    list_filter = ["parent"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {}
    ordering = ["sort_order", "name"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent").annotate(_entry_count=Count("entries"))

    @admin.display(description=_("条目数"), ordering="_entry_count")
    def entry_count(self, obj: Category) -> int:
        return obj._entry_count


class SimilarQuestionInline(admin.TabularInline):
    model = SimilarQuestion
    extra = 1
    fields = ["text"]


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ["external_id", "question", "category", "status", "similar_count", "valid_until", "updated_at", "updated_by"]
    list_filter = ["status", "category", "updated_at"]
    search_fields = ["external_id", "question", "answer", "keywords", "similar_questions__text"]
    list_select_related = ["category", "category__parent", "updated_by"]
    autocomplete_fields = ["category"]
    readonly_fields = ["created_by", "updated_by", "created_at", "updated_at"]
    inlines = [SimilarQuestionInline]
    fieldsets = [
        (None, {"fields": ["external_id", "category", "question", "answer", "keywords"]}),
        (_("发布"), {"fields": ["status", "valid_until"]}),
        (_("记录"), {"fields": ["created_by", "updated_by", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_similar_count=Count("similar_questions", distinct=True))

    @admin.display(description=_("相似问法数"), ordering="_similar_count")
    def similar_count(self, obj: Entry) -> int:
        return obj._similar_count

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SimilarQuestion)
class SimilarQuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "entry", "created_at"]
    list_filter = ["entry__category"]
    search_fields = ["text", "entry__question", "entry__external_id"]
    list_select_related = ["entry"]
    autocomplete_fields = ["entry"]


@admin.register(SynonymGroup)
class SynonymGroupAdmin(admin.ModelAdmin):
    list_display = ["canonical", "terms", "enabled", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["canonical", "terms"]
