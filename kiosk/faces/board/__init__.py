"""The lobby board: the Textual app, its model, and the served page for a TV's browser."""
