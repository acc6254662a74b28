"""HTTP clients for Dotdigital and Adobe Commerce: auth, pagination, retry, error taxonomy. No Kafka."""
