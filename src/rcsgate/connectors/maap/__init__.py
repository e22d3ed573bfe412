"""GSMA MaaP Chatbot API (FNW.11 `bot/v1`)."""

from rcsgate.connectors.maap.client import MaapConnector
from rcsgate.connectors.maap.notifications import SIGNATURE_HEADER, sign

__all__ = ["SIGNATURE_HEADER", "MaapConnector", "sign"]
