"""Fake providers and the demo: what the tests and `switchboard demo` run on loopback in place of
Twilio, Facebook's Graph API and the system behind an API channel.

Nothing the server imports reaches this package (tests/providers/test_sandbox_isolation.py).
"""
