"""The app's own tests. A package, so that a test module named like one in nextjs/e2e/ does not clash."""
