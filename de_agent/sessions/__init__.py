"""Sessions: append-only JSONL files under the user state folder."""
