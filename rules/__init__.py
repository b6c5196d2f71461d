"""The rules engine: the loyalty programme as data, evaluated by pure functions.

Standard library only: no Flask, no SQLAlchemy, no clock (time is an argument), no I/O
beyond loading a programme file.
"""
