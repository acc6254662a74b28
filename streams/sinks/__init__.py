"""Where writes go: Dotdigital lanes and writers, the Commerce write-back, the consent gate."""
