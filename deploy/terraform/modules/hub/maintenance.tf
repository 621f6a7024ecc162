# Index upkeep: EventBridge Scheduler invokes `changecast.workers.maintenance.handler` daily, which
# runs what `changecast index optimize` runs (PostgreSQL: VACUUM (ANALYZE) of the index tables,
# merging the GIN pending list upserts leave). See docs/runbooks/index-upkeep.md. Its role reads
# only the runtime secret (the database URL); it touches no bucket, queue or customer role.

resource "aws_cloudwatch_log_group" "maintenance" {
  name              = "/aws/lambda/${local.prefix}-index-upkeep"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.hub.arn
  tags              = local.tags
}

resource "aws_iam_role" "maintenance" {
  name = "${local.prefix}-index-upkeep"
  assume_role_policy = templatefile("${local.policies}/lambda-trust.json.tftpl", {
    account_id = local.account_id
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "maintenance" {
  name = "index-upkeep"
  role = aws_iam_role.maintenance.id
  policy = templatefile("${local.policies}/maintenance.json.tftpl", {
    kms_key_arn   = aws_kms_key.hub.arn
    secret_arn    = aws_secretsmanager_secret.runtime.arn
    db_secret_arn = local.database_secret_arn
    log_group_arn = aws_cloudwatch_log_group.maintenance.arn
  })
}

# ENIs in the VPC: the job reaches the index (RDS) from the private subnets.
resource "aws_iam_role_policy_attachment" "maintenance_vpc" {
  role       = aws_iam_role.maintenance.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "maintenance" {
  #checkov:skip=CKV_AWS_116:Invoked by EventBridge Scheduler once a day; a failed run is repeated by the next one (and alarmed), a DLQ would hold nothing to act on.
  #checkov:skip=CKV_AWS_272:The zip is built and tested by `changecast package lambda` in CI; code signing needs an AWS Signer profile that this deployment does not assume.
  function_name    = "${local.prefix}-index-upkeep"
  role             = aws_iam_role.maintenance.arn
  runtime          = "python3.11"
  handler          = "changecast.workers.maintenance.handler"
  filename         = var.worker_zip
  source_code_hash = filebase64sha256(var.worker_zip)
  architectures    = [var.lambda_architecture]
  timeout          = 600
  memory_size      = 256
  kms_key_arn      = aws_kms_key.hub.arn

  reserved_concurrent_executions = 1 # one upkeep at a time

  environment {
    variables = local.common_env
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
    log_group  = aws_cloudwatch_log_group.maintenance.name
  }

  tags       = local.tags
  depends_on = [aws_iam_role_policy.maintenance, aws_iam_role_policy_attachment.maintenance_vpc]
}

resource "aws_iam_role" "maintenance_invoke" {
  name = "${local.prefix}-index-upkeep-invoke"
  assume_role_policy = templatefile("${local.policies}/scheduler-trust.json.tftpl", {
    account_id = local.account_id
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "maintenance_invoke" {
  name = "invoke-index-upkeep"
  role = aws_iam_role.maintenance_invoke.id
  policy = templatefile("${local.policies}/maintenance-invoke.json.tftpl", {
    kms_key_arn  = aws_kms_key.hub.arn
    function_arn = aws_lambda_function.maintenance.arn
  })
}

resource "aws_scheduler_schedule" "index_upkeep" {
  name                         = "${local.prefix}-index-upkeep"
  description                  = "changecast index optimize: planner statistics, vacuum, GIN pending list"
  schedule_expression          = var.index_upkeep_schedule
  kms_key_arn                  = aws_kms_key.hub.arn # the target input, encrypted with the hub key
  schedule_expression_timezone = "UTC"

  flexible_time_window {
    mode                      = "FLEXIBLE"
    maximum_window_in_minutes = 30
  }

  target {
    arn      = aws_lambda_function.maintenance.arn
    role_arn = aws_iam_role.maintenance_invoke.arn
    input    = jsonencode({ source = "changecast.index-upkeep" })

    retry_policy {
      maximum_retry_attempts = 2
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "maintenance_errors" {
  alarm_name          = "${local.prefix}-index-upkeep-errors"
  alarm_description   = "The daily index upkeep failed: planner statistics go stale and searches slow down as the index grows. Run `changecast index optimize` (docs/runbooks/index-upkeep.md)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.maintenance.function_name }
  statistic           = "Sum"
  period              = 86400
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}
