"""Models of the conversations app, one module per idea, re-exported here.

Visitors and their conversations (= sessions), the messages in them, feedback on bot
answers, the site keys that embed the widget, and the reply templates managers edit.
"""
from .analytics import DailyMetrics
from .conversation import Conversation
from .feedback import Feedback
from .message import Message
from .site import SiteKey
from .template import ReplyTemplate
from .visitor import Visitor

__all__ = ["Conversation", "DailyMetrics", "Feedback", "Message", "ReplyTemplate", "SiteKey", "Visitor"]
