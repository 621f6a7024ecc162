"""Deployable artifacts: pinned requirement sets per function kind and the Lambda zip builder.

Nothing here imports boto3 or the web stack, so ``changecast package --help`` stays cheap.
"""
