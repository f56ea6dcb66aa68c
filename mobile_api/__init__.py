"""The HTTP face of the mobile app: controllers and request/response schemas only."""
