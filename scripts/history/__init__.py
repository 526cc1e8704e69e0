"""The migration histories as the repository holds them: files only, no database."""
