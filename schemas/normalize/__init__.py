"""Pure mappings from what Commerce and Dotdigital report into the normalized contract."""
