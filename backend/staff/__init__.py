"""Staff accounts for the back office and the policy team: roles, password + TOTP sign-in, sessions."""
