"""Human handoff: agent profiles and presence, escalations and the queue, routing, canned
responses, business hours; the agent console (admin views + agent WebSocket)."""
