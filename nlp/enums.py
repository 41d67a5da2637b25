"""Choices of the nlp app."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class ClassifierBackend(models.TextChoices):
    LINEAR = "linear", _("线性模型（字词 n-gram）")
    TRANSFORMERS = "transformers", _("Transformers（BERT）")


class ModelStatus(models.TextChoices):
    TRAINING = "training", _("训练中")
    READY = "ready", _("可用")
    FAILED = "failed", _("失败")
