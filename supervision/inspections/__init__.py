"""Inspections (双随机一公开): checklists, plans and draws, visits and offline sync, rectification, penalties,
publication."""
