"""A local Adobe Commerce stand-in: the store model and simulator, Adobe I/O delivery, its HTTP surface."""
