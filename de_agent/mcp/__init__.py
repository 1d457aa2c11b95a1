"""MCP both ways: de-agent as a client of MCP servers, and ``de-agent mcp`` as a server.

Imports nothing at package import: the SDK loads only when a server is configured or
``de-agent mcp`` runs.
"""
