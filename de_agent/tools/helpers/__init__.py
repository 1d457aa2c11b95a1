"""What the tools are built from, not tools themselves: diffs and edit matching, globs, the
.gitignore walker, search back ends, HTML to text, encoding-preserving text I/O."""
