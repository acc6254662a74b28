"""A local Adobe Commerce stand-in: signed event delivery and its public keys."""
