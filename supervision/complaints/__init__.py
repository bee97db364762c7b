"""Complaints from parents: filing, handling (R-CMP-1), messages, statements, routing, deadlines."""
