"""evtui: a terminal console for event-driven systems on Apache Kafka."""

__version__ = "0.1.0"
