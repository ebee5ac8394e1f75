"""The gateway's JetStream consumers (run by the mailer role): billing's balance alerts become mail."""
