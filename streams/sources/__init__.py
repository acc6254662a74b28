"""Where events come from: Adobe webhook, journal pull, REST backfill, Dotdigital suppression feed."""
