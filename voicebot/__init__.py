"""voicebot: an offline voice bot for loan-collection reminder calls."""
__version__ = "0.1.0"
