"""Visitors, conversations, messages and feedback; the turn pipeline every channel calls;
the visitor REST API and WebSocket; the embeddable widget; analytics selectors."""
