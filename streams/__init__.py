"""The Faust app: settings, topics, agents, tables, web views, CLI. The only package that knows Kafka."""
