"""Google RBM (RCS Business Messaging) REST v1."""

from rcsgate.connectors.rbm.auth import TokenSource
from rcsgate.connectors.rbm.callbacks import push_body, sign
from rcsgate.connectors.rbm.client import RbmConnector

__all__ = ["RbmConnector", "TokenSource", "push_body", "sign"]
