"""The TUI's widgets: chat, plan and diff panes, input box, status bar."""
