"""The frontend's browser tests. A package, so that test_notes.py here and in backend/tests/ do not clash."""
