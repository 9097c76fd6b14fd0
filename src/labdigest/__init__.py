"""labdigest: turn research-paper digests into a static, searchable website."""

__version__ = "0.1.0"
