"""poleqa: extractive, cited question answering about the French pôles de compétitivité."""

__version__ = "0.1.0"
