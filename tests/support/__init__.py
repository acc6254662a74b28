"""What the test suites share: fake time, the two sandboxes, the accounts, the recording topic."""
