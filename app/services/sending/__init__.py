"""Sending: the outbox, draft building, pre-flight, the sender with its pacing and lock,
the failure list and what a user can do about a failure, the change-by-hand list and
the failure email.
"""
