"""The portal and the JSON API (FastAPI)."""
