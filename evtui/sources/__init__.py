"""Sources adapt the outside world (Kafka, files, the demo simulator) to Events."""
