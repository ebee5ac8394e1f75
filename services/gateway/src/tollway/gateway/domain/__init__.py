"""Pure gateway rules: key format and digest, identities, users; no I/O imports."""
