"""Handlers of the Kamal-named commands: each turns its arguments into one Fleet operation."""
