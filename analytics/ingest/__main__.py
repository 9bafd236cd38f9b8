"""``python -m analytics.ingest``: the import command (see ``analytics.ingest.cli``)."""

import sys

from analytics.ingest.cli import main

sys.exit(main())
