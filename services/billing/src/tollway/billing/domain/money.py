"""Money is integer micro-USD (1 USD = 1,000,000); these render it exactly, never through a float."""

from __future__ import annotations

MICROS_PER_USD = 1_000_000


def usd_decimal(micros: int) -> str:
    """``-1234567`` → ``"-1.234567"``: exact, for API bodies."""
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), MICROS_PER_USD)
    return f"{sign}{whole}.{fraction:06d}"


def usd_label(micros: int) -> str:
    """``1234567890`` → ``"$1,234.57"`` (rounded half up to cents): for messages people read."""
    sign = "-" if micros < 0 else ""
    cents = (abs(micros) + 5_000) // 10_000
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"
