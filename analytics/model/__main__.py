import sys

from analytics.model.cli import main

sys.exit(main())
