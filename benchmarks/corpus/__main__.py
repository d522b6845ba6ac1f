"""Write the labelled accuracy corpus: ``python -m benchmarks.corpus --help``."""

import sys

from benchmarks.corpus.build import main

if __name__ == "__main__":
    sys.exit(main())
