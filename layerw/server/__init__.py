"""The Layer-W server: one ASGI app for games, chunks, the web client and multiplayer rooms."""
