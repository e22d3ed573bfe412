"""SMS over SMPP 3.4: one bind_transceiver with a window, enquire_link and reconnects; GSM
03.38 / UCS-2 with concatenation; receipts and MO messages from deliver_sm. PDUs are encoded
and decoded by python-smpplib; the session and its transport are asyncio."""

from rcsgate.connectors.smpp.connector import SmppConnector

__all__ = ["SmppConnector"]
