"""Live answers for support agents, straight from the Management API."""
