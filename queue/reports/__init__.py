"""The station's figures and the daily export for the branch bureau, computed from the queue's
events (the engine beside it decides nothing here)."""
