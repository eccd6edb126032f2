"""一网统管 cases: GB/T 47678.5 管理部件和事项 codes, and the text category classifier for incoming reports."""
