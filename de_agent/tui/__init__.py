"""The Textual front end: chat, plan and diff panes over the engine, with approvals.

The only package of de-agent that imports ``textual``. Entry point: :func:`de_agent.tui.app.run_tui`.
"""
