"""pairterm: a terminal pair-programming assistant that stays quiet at your decisions."""

__version__ = "0.1.0"
