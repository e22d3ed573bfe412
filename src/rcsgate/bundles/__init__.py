"""Bundles: one message to many recipients."""
