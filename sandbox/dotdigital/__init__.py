"""A faithful local Dotdigital API server."""
