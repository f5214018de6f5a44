"""`python -m services.demo` (make demo): seed the demo deployment through the gateway."""
import sys

from services.demo.seed import main

sys.exit(main())
