"""Writing back to Adobe Commerce: unsubscribes Dotdigital reported, for registered customers."""
