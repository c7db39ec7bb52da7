"""asyncio side of protoaudit: connections with deadlines and byte limits, concurrency limits.

The engine moves bytes and enforces time and size; it knows no protocol. Probes
hand it sans-I/O protocol objects from `protoaudit.proto`.
"""
