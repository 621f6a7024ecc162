# One worker Lambda per customer, each with its own role: it reads customers/{code}/ and
# archive/, writes executions/*/{code}.json, uses only its ledger items and its queue, and can
# assume only its customer's SES role.

locals {
  worker_role_names = { for code in keys(var.customers) : code => "${local.prefix}-worker-${code}" }
}

resource "aws_cloudwatch_log_group" "worker" {
  for_each          = var.customers
  name              = "/aws/lambda/${local.prefix}-worker-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.hub.arn
  tags              = merge(local.tags, { customer = each.key })
}

resource "aws_iam_role" "worker" {
  for_each = var.customers
  name     = local.worker_role_names[each.key]
  assume_role_policy = templatefile("${local.policies}/lambda-trust.json.tftpl", {
    account_id = local.account_id
  })
  tags = merge(local.tags, { customer = each.key })
}

resource "aws_iam_role_policy" "worker" {
  for_each = var.customers
  name     = "deliver-${each.key}"
  role     = aws_iam_role.worker[each.key].id
  policy = templatefile("${local.policies}/worker.json.tftpl", {
    bucket_arn       = local.bucket_arn
    code             = each.key
    kms_key_arn      = aws_kms_key.hub.arn
    queue_arn        = aws_sqs_queue.trigger[each.key].arn
    dlq_arn          = aws_sqs_queue.trigger_dlq[each.key].arn
    ledger_table_arn = aws_dynamodb_table.ledger.arn
    ses_role_arn     = local.ses_role_arns[each.key]
    secret_arn       = aws_secretsmanager_secret.runtime.arn
    db_secret_arn    = local.database_secret_arn
    log_group_arn    = aws_cloudwatch_log_group.worker[each.key].arn
  })
}

# ENIs in the VPC (AWS managed: the ec2 network-interface calls Lambda makes for the function).
resource "aws_iam_role_policy_attachment" "worker_vpc" {
  for_each   = var.customers
  role       = aws_iam_role.worker[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "worker" {
  #checkov:skip=CKV_AWS_116:Invoked by an SQS event source only; failed records go to the queue's own DLQ (redrive policy), a function DLQ would never receive anything.
  #checkov:skip=CKV_AWS_115:Concurrency is capped per customer by the event source's maximum_concurrency, which does not take from the account's unreserved pool.
  #checkov:skip=CKV_AWS_272:The zip is built and tested by `changecast package lambda` in CI; code signing needs an AWS Signer profile that this deployment does not assume.
  for_each         = var.customers
  function_name    = "${local.prefix}-worker-${each.key}"
  role             = aws_iam_role.worker[each.key].arn
  runtime          = "python3.11"
  handler          = "changecast.workers.lambda_handler.handler"
  filename         = var.worker_zip
  source_code_hash = filebase64sha256(var.worker_zip)
  architectures    = [var.lambda_architecture]
  timeout          = var.worker_timeout_seconds
  memory_size      = var.worker_memory_mb
  kms_key_arn      = aws_kms_key.hub.arn

  environment {
    variables = merge(local.common_env, {
      CHANGECAST_CUSTOMER                    = each.key
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
    log_group  = aws_cloudwatch_log_group.worker[each.key].name
  }

  tags       = merge(local.tags, { customer = each.key })
  depends_on = [aws_iam_role_policy.worker, aws_iam_role_policy_attachment.worker_vpc]
}

resource "aws_lambda_event_source_mapping" "worker" {
  for_each                           = var.customers
  event_source_arn                   = aws_sqs_queue.trigger[each.key].arn
  function_name                      = aws_lambda_function.worker[each.key].arn
  batch_size                         = var.worker_batch_size
  maximum_batching_window_in_seconds = 1
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.worker_max_concurrency
  }
}
