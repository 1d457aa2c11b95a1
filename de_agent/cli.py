"""Command line entry point (placeholder until the engine lands)."""

import sys

from de_agent import __version__


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--version" in argv:
        print(f"de-agent {__version__}")
        return 0
    return 0
