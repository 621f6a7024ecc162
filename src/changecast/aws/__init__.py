"""The only place boto3 is imported: thin adapters that map our ports onto AWS."""
