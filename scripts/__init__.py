"""The tooling around the real tools, a package by layer: core, history, database, checks, commands.

Each layer imports only the layers below it (docs/development.md, "The tooling's layers").
"""
