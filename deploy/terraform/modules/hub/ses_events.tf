# The SES events worker: one Lambda for every customer, fed by the hub ses-events queue (which
# each customer account's configuration set topic delivers to). It records each event's outcome
# on its ledger entry (found by SES message id), suppresses hard bounces and complaints (our
# record in the ledger table, and the customer's account list through its ses-suppression
# role), and recounts the delivery in the read model (the index, via the runtime secret).

locals {
  ses_events_role_name = "${local.prefix}-ses-events"
  # The role in each customer account that may only PutSuppressedDestination (customer module).
  suppression_role_arns = [
    for c in values(var.customers) : "arn:${local.partition}:iam::${c.account_id}:role/${local.prefix}-ses-suppression"
  ]
}

resource "aws_cloudwatch_log_group" "ses_events" {
  name              = "/aws/lambda/${local.prefix}-ses-events"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.hub.arn
  tags              = local.tags
}

resource "aws_iam_role" "ses_events" {
  name = local.ses_events_role_name
  assume_role_policy = templatefile("${local.policies}/lambda-trust.json.tftpl", {
    account_id = local.account_id
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "ses_events" {
  name = "apply-ses-events"
  role = aws_iam_role.ses_events.id
  policy = templatefile("${local.policies}/ses-events-worker.json.tftpl", {
    bucket_arn       = local.bucket_arn
    kms_key_arn      = aws_kms_key.hub.arn
    queue_arn        = aws_sqs_queue.ses_events.arn
    dlq_arn          = aws_sqs_queue.ses_events_dlq.arn
    ledger_table_arn = aws_dynamodb_table.ledger.arn
    events_role_arns = jsonencode(local.suppression_role_arns)
    secret_arn       = aws_secretsmanager_secret.runtime.arn
    db_secret_arn    = local.database_secret_arn
    log_group_arn    = aws_cloudwatch_log_group.ses_events.arn
  })
}

resource "aws_iam_role_policy_attachment" "ses_events_vpc" {
  role       = aws_iam_role.ses_events.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "ses_events" {
  #checkov:skip=CKV_AWS_116:Invoked by an SQS event source only; poison records go to the queue's DLQ with a reason.
  #checkov:skip=CKV_AWS_115:Concurrency is capped by the event source's maximum_concurrency.
  #checkov:skip=CKV_AWS_272:The zip is built and tested by `changecast package lambda` in CI; code signing needs an AWS Signer profile that this deployment does not assume.
  function_name    = "${local.prefix}-ses-events"
  role             = aws_iam_role.ses_events.arn
  runtime          = "python3.11"
  handler          = "changecast.workers.ses_events.handler"
  filename         = var.worker_zip
  source_code_hash = filebase64sha256(var.worker_zip)
  architectures    = [var.lambda_architecture]
  timeout          = 60
  memory_size      = var.worker_memory_mb
  kms_key_arn      = aws_kms_key.hub.arn

  environment {
    variables = merge(local.common_env, {
      CHANGECAST_DELIVERY__MAX_RECEIVE_COUNT = tostring(var.max_receive_count)
    })
  }

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.workers.id]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.ses_events.name
  }

  tags       = local.tags
  depends_on = [aws_iam_role_policy.ses_events, aws_iam_role_policy_attachment.ses_events_vpc]
}

resource "aws_lambda_event_source_mapping" "ses_events" {
  event_source_arn                   = aws_sqs_queue.ses_events.arn
  function_name                      = aws_lambda_function.ses_events.arn
  batch_size                         = 100
  maximum_batching_window_in_seconds = 5
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = 5
  }
}
