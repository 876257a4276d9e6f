"""Local fake channel servers (real HTTP on loopback) for the backend tests.

Imported as `fakes` after the test module puts tests/ on sys.path (tests/ has no __init__.py).
"""
