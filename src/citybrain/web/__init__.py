"""The web adapters: JSON API, server-rendered console and portal. Thin layers over the actions."""
