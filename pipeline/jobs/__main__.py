import sys

from pipeline.jobs.supervisor import main

sys.exit(main())
