"""A company's registry (relevo.yaml): what it says, checked once, and the connectors it names."""
