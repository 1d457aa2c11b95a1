"""Specialists de-agent can hand work to: the shipped Markdown files and the catalog that loads them."""
