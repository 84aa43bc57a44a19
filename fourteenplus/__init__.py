"""fourteenplus: routing for the Dutch 14+netnummer on Asterisk."""

__version__ = "0.1.0"
