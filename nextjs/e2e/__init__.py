"""The frontend's browser tests. A package, so that a test module named like one in backend/tests/ does not clash."""
