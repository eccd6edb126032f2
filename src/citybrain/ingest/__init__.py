"""Aggregation (归集): reading department files and loading them into the data lake."""
