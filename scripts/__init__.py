"""Thin wrappers around the real tools: check, wait, start, report. See docs/development.md."""
