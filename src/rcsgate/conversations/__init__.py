"""Conversations: one agent and one recipient, two-way."""
