"""The bottom layer: configuration (the environment, the env file, systems.env), the URL, failures, redaction."""
