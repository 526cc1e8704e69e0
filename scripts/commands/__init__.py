"""One module per command of ``python -m scripts COMMAND`` (scripts/__main__.py)."""
