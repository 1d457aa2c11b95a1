"""Extensions a person or a repository adds: hooks, custom slash commands and skills.

MCP servers live in :mod:`de_agent.mcp`; what they share (approval of a repository's own
extensions, kept in the user state) is in :mod:`de_agent.security.extension_approvals`.
"""
