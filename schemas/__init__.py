"""Models and pure functions: Commerce in, normalizing, the contract, rules, Dotdigital out."""
