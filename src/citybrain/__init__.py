"""CityBrain (城市大脑): one system for a city's public data and city operations."""

__version__ = "0.1.0"
