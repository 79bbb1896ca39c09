import sys

from kanjiedge.cli import main

sys.exit(main())
