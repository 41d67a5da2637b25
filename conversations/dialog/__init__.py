"""Pure decision code of a chat turn: no database, no network, no clock.

``context`` defines what a turn knows (``TurnContext``), ``policy.decide`` turns it into a
``Decision``, ``smalltalk`` holds the default texts of the manager-editable templates.
Everything here is tested from tables with hand-built inputs.
"""
