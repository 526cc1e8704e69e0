"""The database and the tools' processes: connect, pre-flight, lock, sessions, local servers, state."""
