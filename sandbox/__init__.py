"""Local stand-ins for Dotdigital and Adobe Commerce, and the embedded broker launcher."""
