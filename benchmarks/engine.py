"""Engine benchmark: `python benchmarks/engine.py` (the same as `optirace bench`).

The logic lives in `optirace.bench` so the installed console script has it too; this script only
makes a checkout importable without installing it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).absolute().parent.parent))

from optirace.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
