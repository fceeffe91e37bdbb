"""tastytui: a keyboard-first terminal trading console for tastytrade."""

__version__ = "0.1.0"
