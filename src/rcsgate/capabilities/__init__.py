"""Capabilities (API.md 2.7): can a number get RCS from an agent, cached per operator."""
