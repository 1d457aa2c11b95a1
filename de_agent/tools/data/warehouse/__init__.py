"""Data where it lives: warehouse and Spark connections, read-only by default, with a cost gate.

The engine side (``connections``, ``classify``, ``gate``, ``ledger``, ``tools``) resolves a
connection by name, classifies SQL in the connection's dialect, asks for the engine's own
cost estimate and records every statement. Drivers (``drivers/``) are imported only inside
the data worker process, which is the only place a connection is ever opened.
"""
