"""Forms of the knowledge admin's custom pages."""
from django import forms
from django.utils.translation import gettext_lazy as _

from knowledge.services.transfer import FORMATS

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(label=_("文件"), help_text=_("CSV、XLSX 或 JSONL；列：id, category, question, similar_questions, answer, keywords, status"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件过大（最大 20 MB）"))
        return upload


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=_("格式"), choices=[(f, f.upper()) for f in FORMATS], initial="xlsx")


class TryForm(forms.Form):
    question = forms.CharField(label=_("问题"), max_length=500, widget=forms.TextInput(attrs={"size": 60, "autofocus": True}))


class EvaluationRunForm(forms.Form):
    """Upload a kb_evaluate JSONL file, or pick the file of an earlier run to run it again."""

    file = forms.FileField(
        label=_("评估文件"), required=False, help_text=_('JSONL，每行 {"query": "问题", "expected": "条目编号"}；expected 为 null 表示知识库不应回答')
    )
    previous = forms.ModelChoiceField(label=_("或重新运行以前的文件"), required=False, queryset=None)

    def __init__(self, *args, **kwargs):
        from knowledge.models import EvaluationRun

        super().__init__(*args, **kwargs)
        # The newest run of each distinct file.
        latest: dict[str, int] = {}
        for pk, content_hash in EvaluationRun.objects.order_by("-pk").values_list("pk", "content_hash"):
            latest.setdefault(content_hash, pk)
        self.fields["previous"].queryset = EvaluationRun.objects.filter(pk__in=latest.values()).order_by("-pk")

    def clean_file(self):
        from csbot.errors import ApplicationError
        from knowledge.curation.evaluation_runs import evaluation_file_read

        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        try:
            evaluation_file_read(upload.read())
        except ApplicationError as exc:
            raise forms.ValidationError(exc.detail) from exc
        upload.seek(0)
        return upload

    def clean(self):
        data = super().clean()
        if not self.errors and bool(data.get("file")) == bool(data.get("previous")):
            raise forms.ValidationError(_("请上传一个评估文件，或选择一个以前的文件（二选一）"))
        return data
