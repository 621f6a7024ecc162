# The hub account: bucket, per-customer queues and workers, ledger, portal, index, secrets,
# alarms. Every IAM, bucket, queue, topic and key policy is a JSON template in ../../policies,
# rendered with templatefile(); tests/deploy renders the same files and runs the code under them.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  policies   = "${path.module}/../../policies"
  prefix     = var.name_prefix

  bucket_arn = "arn:${local.partition}:s3:::${var.bucket_name}"
  config_uri = "s3://${var.bucket_name}/config/config.json"

  # The role in each customer account that its worker (and nobody else) assumes.
  ses_role_arns = {
    for code, c in var.customers :
    code => "arn:${local.partition}:iam::${c.account_id}:role${c.ses_role_path}${c.ses_role_name}"
  }
  admin_role_arns = {
    for code, c in var.customers :
    code => "arn:${local.partition}:iam::${c.account_id}:role/${coalesce(c.ses_admin_role_name, "${local.prefix}-admin")}"
  }

  # What every process gets (settings.tf adds the operator's settings; portal.tf the portal's).
  # The database URL carries no credentials: processes read user and password from the
  # RDS-managed secret (CHANGECAST_DATABASE_SECRET_ID), so they follow its rotation.
  common_env = merge(local.settings_env, {
    CHANGECAST_MODE                   = "aws"
    CHANGECAST_CONFIG                 = local.config_uri
    CHANGECAST_SECRETS_ID             = aws_secretsmanager_secret.runtime.arn
    CHANGECAST_DATABASE_URL           = local.database_url
    CHANGECAST_DATABASE_SECRET_ID     = local.database_secret_arn
    CHANGECAST_DELIVERY__LEDGER_TABLE = aws_dynamodb_table.ledger.name
  })

  tags = merge({ application = "changecast" }, var.tags)
}

resource "aws_kms_key" "hub" {
  description         = "changecast hub: bucket, ledger, secrets, logs, alarm topic, database"
  enable_key_rotation = true
  policy = templatefile("${local.policies}/kms-hub.json.tftpl", {
    partition  = local.partition
    account_id = local.account_id
    region     = local.region
  })
  tags = local.tags
}

resource "aws_kms_alias" "hub" {
  name          = "alias/${local.prefix}-hub"
  target_key_id = aws_kms_key.hub.key_id
}
