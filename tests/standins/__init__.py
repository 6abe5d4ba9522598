"""Local stand-ins for remote services: pure ``httpx`` handlers (use them through
``httpx.MockTransport``) that can also be served on a loopback port for real sockets or
for a developer to try by hand."""
