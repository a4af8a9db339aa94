"""In-process fake HTTP services for tests (loopback only; nothing here reaches the internet)."""
