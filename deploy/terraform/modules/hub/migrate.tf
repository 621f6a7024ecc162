# Schema migrations as a deploy step inside the VPC: `changecast deploy migrate --function
# $(terraform output -raw migrate_function_name)` invokes this function and waits for its answer
# (the index at this release's head, or the error). It runs `changecast.workers.migrate.handler`
# from its own zip (dist/changecast-migrate-<arch>.zip: the worker's code and Alembic). Its role reads only the database's RDS-managed secret; it touches no
# bucket, queue, ledger, runtime secret or customer role, and nothing invokes it on a schedule.

resource "aws_cloudwatch_log_group" "migrate" {
  name              = "/aws/lambda/${local.prefix}-migrate"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.hub.arn
  tags              = local.tags
}

resource "aws_iam_role" "migrate" {
  name = "${local.prefix}-migrate"
  assume_role_policy = templatefile("${local.policies}/lambda-trust.json.tftpl", {
    account_id = local.account_id
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "migrate" {
  name = "migrate-index"
  role = aws_iam_role.migrate.id
  policy = templatefile("${local.policies}/migrate.json.tftpl", {
    db_secret_arn = local.database_secret_arn
    kms_key_arn   = aws_kms_key.hub.arn
    log_group_arn = aws_cloudwatch_log_group.migrate.arn
  })
}

# ENIs in the VPC: the function reaches the index (RDS) from the private subnets.
resource "aws_iam_role_policy_attachment" "migrate_vpc" {
  role       = aws_iam_role.migrate.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "migrate" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by `changecast deploy migrate`, which waits for and prints the answer; a DLQ applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_272:The zip is built and tested by `changecast package lambda` in CI; code signing needs an AWS Signer profile that this deployment does not assume.
  function_name    = "${local.prefix}-migrate"
  role             = aws_iam_role.migrate.arn
  runtime          = "python3.11"
  handler          = "changecast.workers.migrate.handler"
  filename         = var.migrate_zip
  source_code_hash = filebase64sha256(var.migrate_zip)
  architectures    = [var.lambda_architecture]
  timeout          = 900
  memory_size      = 512
  kms_key_arn      = aws_kms_key.hub.arn

  reserved_concurrent_executions = 1 # one migration at a time

  environment {
    variables = local.migrate_env
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
    log_group  = aws_cloudwatch_log_group.migrate.name
  }

  tags       = local.tags
  depends_on = [aws_iam_role_policy.migrate, aws_iam_role_policy_attachment.migrate_vpc]
}

locals {
  # Only the database: the migration reads no config.json, bucket or runtime secret.
  migrate_env = {
    CHANGECAST_MODE               = "aws"
    CHANGECAST_DATABASE_URL       = local.database_url
    CHANGECAST_DATABASE_SECRET_ID = local.database_secret_arn
  }
}
