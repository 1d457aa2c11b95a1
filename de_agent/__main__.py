"""Allow ``python -m de_agent``."""

from de_agent.cli import main

raise SystemExit(main())
