"""The embedded system: moto's server standing in for AWS, demo accounts and demo data."""
