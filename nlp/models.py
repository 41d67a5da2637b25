"""Intents managers curate, their examples, and the trained model versions built from them."""
from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from csbot.models import TimeStampedModel

from .enums import ClassifierBackend, ModelStatus

intent_name_validator = RegexValidator(r"^[a-z][a-z0-9_]*$", _("只能使用小写字母、数字和下划线，并以字母开头"))


class Intent(TimeStampedModel):
    """What a visitor wants (greeting, human_request, refund...); the classifier's labels."""

    name = models.CharField(_("标识"), max_length=64, unique=True, validators=[intent_name_validator])
    display_name = models.CharField(_("名称"), max_length=64)
    description = models.TextField(_("说明"), blank=True)
    is_builtin = models.BooleanField(_("内置"), default=False, help_text=_("产品依赖的内置意图，不能删除"))
    enabled = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("意图")
        verbose_name_plural = pgettext_lazy("plural", "意图")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(name__regex=r"^[a-z][a-z0-9_]*$"), name="nlp_intent_name_format")]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.name})"


class IntentExample(TimeStampedModel):
    """One labelled utterance the classifier trains on."""

    intent = models.ForeignKey(Intent, verbose_name=_("意图"), on_delete=models.CASCADE, related_name="examples")
    text = models.CharField(_("例句"), max_length=300)

    class Meta:
        verbose_name = _("意图例句")
        verbose_name_plural = pgettext_lazy("plural", "意图例句")
        ordering = ["intent_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["intent", "text"], name="nlp_example_unique_per_intent"),
            models.CheckConstraint(condition=~Q(text=""), name="nlp_example_text_not_empty"),
        ]

    def __str__(self) -> str:
        return self.text


class ModelVersion(TimeStampedModel):
    """A trained intent classifier: artifact on disk, training-data hash, metrics and report.

    Exactly one ready version may be active (a partial unique constraint); the pipeline
    loads the active one lazily once per process.
    """

    backend = models.CharField(_("算法"), max_length=32, choices=ClassifierBackend.choices)
    status = models.CharField(_("状态"), max_length=16, choices=ModelStatus.choices, default=ModelStatus.TRAINING)
    is_active = models.BooleanField(_("当前使用"), default=False)
    artifact_path = models.CharField(_("模型文件"), max_length=500, blank=True)
    data_hash = models.CharField(_("训练数据哈希"), max_length=64, blank=True)
    data_source = models.CharField(_("训练数据来源"), max_length=500, blank=True)
    n_examples = models.PositiveIntegerField(_("例句数"), default=0)
    n_intents = models.PositiveIntegerField(_("意图数"), default=0)
    training_seconds = models.FloatField(_("训练耗时（秒）"), null=True, blank=True)
    metrics = models.JSONField(_("指标"), default=dict, blank=True)
    report = models.JSONField(_("评估报告"), default=dict, blank=True)
    error = models.TextField(_("错误信息"), blank=True)
    trained_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("训练人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("意图模型版本")
        verbose_name_plural = pgettext_lazy("plural", "意图模型版本")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="nlp_modelversion_single_active"),
            models.CheckConstraint(condition=Q(is_active=False) | Q(status=ModelStatus.READY), name="nlp_modelversion_active_is_ready"),
            models.CheckConstraint(condition=Q(backend__in=ClassifierBackend.values), name="nlp_modelversion_backend_valid"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_backend_display()} {self.created_at:%Y-%m-%d %H:%M}" if self.created_at else f"{self.backend}"


def validate_pattern(value: str) -> None:
    """A manager's pattern must compile and must not match the empty string."""
    import regex

    from django.core.exceptions import ValidationError

    try:
        compiled = regex.compile(value, regex.IGNORECASE)
    except regex.error as exc:
        raise ValidationError(_("正则表达式无效：%(error)s"), params={"error": exc}) from exc
    if compiled.fullmatch(""):
        raise ValidationError(_("正则表达式不能匹配空字符串"))


class EntityPattern(TimeStampedModel):
    """A regular expression that recognises an entity (order numbers of this shop: ``YD\\d{14}``).

    Managers edit these in admin; every process reloads them within seconds of a change.
    Matching is case-insensitive and never inside a longer run of letters or digits.
    """

    class Kind(models.TextChoices):
        ORDER_NUMBER = "order_number", _("订单号")

    kind = models.CharField(_("实体类型"), max_length=32, choices=Kind.choices, default=Kind.ORDER_NUMBER)
    name = models.CharField(_("名称"), max_length=64)
    pattern = models.CharField(_("正则表达式"), max_length=200, validators=[validate_pattern], help_text=_("例如 YD\\d{14}（YD 加 14 位数字），不区分大小写"))
    enabled = models.BooleanField(_("启用"), default=True)
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("实体规则")
        verbose_name_plural = pgettext_lazy("plural", "实体规则")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "pattern"], name="nlp_entitypattern_unique"),
            models.CheckConstraint(condition=~Q(pattern=""), name="nlp_entitypattern_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.pattern}"
