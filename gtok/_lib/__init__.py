"""The compiled core: Cython loops on typed memoryviews, no policy (that lives in the
Python modules that call them). Private: import the public modules instead."""
