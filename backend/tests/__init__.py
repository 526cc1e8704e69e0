"""The app's own tests. A package, so that test_notes.py here and in nextjs/e2e/ do not clash."""
