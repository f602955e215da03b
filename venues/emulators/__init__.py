"""Local emulators that speak the venues' own wire protocols, so paper trading and every test
run the real clients. Shared pieces: fault injection (``faults``)."""
