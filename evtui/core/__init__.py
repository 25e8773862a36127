"""The pure core of evtui: no Textual, no confluent-kafka imports here."""
