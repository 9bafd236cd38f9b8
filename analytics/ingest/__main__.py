"""``python -m analytics.ingest``: the import command (see ``analytics.ingest.load``)."""

import sys

from analytics.ingest.load import main

sys.exit(main())
