"""The checks behind scripts/check-infra.py, one module per section of its report."""
