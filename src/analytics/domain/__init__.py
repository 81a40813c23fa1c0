"""Business rules of campaign analytics: plain Python, no framework, no database."""
