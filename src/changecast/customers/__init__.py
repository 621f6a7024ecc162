"""Customers: config.json and SESConfig.json, and the directory built from them."""
