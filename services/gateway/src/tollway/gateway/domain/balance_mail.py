"""The mail a balance alert becomes: low balance and exhausted balance, in plain text."""

from __future__ import annotations

from tollway.contracts import BalanceExhaustedV1, BalanceLowV1
from tollway.gateway.domain.accounts_records import Mail

MICROS_PER_USD = 1_000_000
BalanceAlert = BalanceLowV1 | BalanceExhaustedV1


def balance_mail(alert: BalanceAlert, recipient: str, public_url: str) -> Mail:
    """One message per alert; billing raises an alert once per downward crossing, so this is once per crossing."""
    billing = f"{public_url.rstrip('/')}/console/#/credits"
    balance = _usd(alert.balance_micros)
    if isinstance(alert, BalanceLowV1):
        subject = "Your Tollway balance is low"
        body = (
            f"Your Tollway balance is {balance}, below {_usd(alert.threshold_micros)}.\n\n"
            f"Requests that could cost more than the remaining balance are refused. Add credit at:\n{billing}\n"
        )
    else:
        subject = "Your Tollway balance is used up"
        body = (
            f"Your Tollway balance is {balance}: paid requests are now refused with 402.\n\n"
            f"Add credit to continue at:\n{billing}\n"
        )
    return Mail(recipient=recipient, subject=subject, body=body)


def _usd(micros: int) -> str:
    sign = "-" if micros < 0 else ""
    cents_exact = abs(micros) % (MICROS_PER_USD // 100) == 0
    return f"{sign}${abs(micros) / MICROS_PER_USD:,.{2 if cents_exact else 6}f}"  # never rounds a debt to $0.00
