"""What operators reach over HTTP: health and status endpoints."""
