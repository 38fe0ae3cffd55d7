"""Placeholder: filled by its own work item."""

commands: list = []
