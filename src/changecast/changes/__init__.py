"""Changes: the change record, its workflow, its S3 archive and its use cases."""
