"""Audit (可追溯): every access and change recorded, chained by SM3, verifiable."""
