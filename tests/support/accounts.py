"""Who the tests are to the sandboxes: the Adobe client id, the Commerce token, Dotdigital users."""

from __future__ import annotations

from sandbox.commerce.api.auth import IntegrationCredentials

# The Adobe I/O client id the stores address their events to and the worker accepts.
CLIENT_ID = "cartwright-tests"
# The Commerce integration's access token, as the sandbox issues it by default.
COMMERCE_TOKEN = IntegrationCredentials().access_token
BEARER = {"Authorization": f"Bearer {COMMERCE_TOKEN}"}
# The Dotdigital API user of the worker the end-to-end stack runs.
DD_USER = "apiuser-integration@apiconnector.com"
DD_PASSWORD = "integration-password"
