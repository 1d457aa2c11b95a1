"""The TUI's modal screens: approvals and the session picker."""
