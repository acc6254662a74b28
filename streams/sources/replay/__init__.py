"""`cartwright replay`: a window of the raw or a normalized topic, or dead letters, put back."""
