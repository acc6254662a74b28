"""What every stage runs on: the app, topics, tables, API clients, incidents, metrics, retrying."""
