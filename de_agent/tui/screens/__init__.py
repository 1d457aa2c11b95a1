"""The TUI's modal screens: approvals, questions, confirmations, pickers and the result viewer."""
