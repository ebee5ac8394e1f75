"""Money shown to humans: integer micro-USD rendered as an exact decimal string (never through float)."""

from __future__ import annotations

from decimal import Decimal

MICROS_PER_USD = 1_000_000
_SIX_PLACES = Decimal("0.000001")


def usd(micros: int) -> str:
    """``1234567`` → ``"1.234567"``: exact, six decimal places."""
    return str(Decimal(micros).scaleb(-6).quantize(_SIX_PLACES))
