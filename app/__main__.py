"""`python -m app` is the same as the `shipdeck` command."""

import sys

from app.cli import main

sys.exit(main())
