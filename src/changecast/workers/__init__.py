"""Workers: the per-customer SQS loop and the Lambda handler that deliver triggers."""
