"""Security: the command policy, approval rules, the command runner and sandbox, and secrets.

- ``commands``: parse a shell command (bashlex) and classify it allow / ask / deny.
- ``rules``: "always" and session approval rules, as readable patterns.
- ``runner``: run ``bash -c`` bounded in time, output and resources.
- ``sandbox``: bubblewrap wrapping, or the plain runner with resource limits.
- ``env``: the environment commands see, and redaction of secrets from text.
"""
