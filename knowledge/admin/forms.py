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
