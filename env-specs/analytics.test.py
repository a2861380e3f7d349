# Runs with the env's own python after every build of `analytics` (see docs/qa.md).
import numpy
import pandas

assert numpy.__version__ and pandas.__version__
print("analytics ok:", numpy.__version__, pandas.__version__)
