# The portal's identity, shared by both ways of running it (portal_ecs.tf, portal_lambda.tf).
locals {
  portal_env = merge(local.common_env, var.portal_mode == "ecs" ? local.portal_ecs_env : local.portal_lambda_env)
  portal_trust = var.portal_mode == "ecs" ? "ecs-tasks-trust.json.tftpl" : "lambda-trust.json.tftpl"
}

resource "aws_cloudwatch_log_group" "portal" {
  name              = "/${local.prefix}/portal"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.hub.arn
  tags              = local.tags
}

resource "aws_iam_role" "portal" {
  name = "${local.prefix}-portal"
  assume_role_policy = templatefile("${local.policies}/${local.portal_trust}", {
    account_id = local.account_id
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "portal" {
  name = "portal"
  role = aws_iam_role.portal.id
  policy = templatefile("${local.policies}/portal.json.tftpl", {
    bucket_arn       = local.bucket_arn
    kms_key_arn      = aws_kms_key.hub.arn
    secret_arn       = aws_secretsmanager_secret.runtime.arn
    db_secret_arn    = local.database_secret_arn
    admin_role_arns  = jsonencode(sort(values(local.admin_role_arns)))
    log_group_arn    = aws_cloudwatch_log_group.portal.arn
  })
}
