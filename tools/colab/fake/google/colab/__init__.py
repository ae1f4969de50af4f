"""Stand-in for Colab's own ``google.colab`` package, for `make test-colab` only (tools/colab/testcolab.py).

Chapters never call it: its presence in ``sys.modules`` is how their first cell knows it runs on Colab.
"""

IN_TEST_COLAB = True
