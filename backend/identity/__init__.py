"""Identity: customers, sign-in (phone code, PIN, tokens), profiles and recipients."""
