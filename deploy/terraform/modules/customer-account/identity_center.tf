# Read-only IAM Identity Center access for `changecast identity import` (config.json's
# identity_center_role_arn): find the identity store, list its users, groups and memberships.
# Operators (admin_principal_arns) assume it; no hub process does. Create it in the account that
# holds the customer's Identity Center instance (identity_center_read = false elsewhere).
resource "aws_iam_role" "identity_center" {
  count       = var.identity_center_read && length(var.admin_principal_arns) > 0 ? 1 : 0
  name        = "${local.prefix}-identity-center"
  description = "changecast: operators read Identity Center users and groups (identity import)"
  assume_role_policy = templatefile("${local.policies}/identity-center-trust.json.tftpl", {
    principal_arns = jsonencode(var.admin_principal_arns)
  })
  max_session_duration = 3600
  tags                 = local.tags
}

resource "aws_iam_role_policy" "identity_center" {
  count = length(aws_iam_role.identity_center)
  name  = "identity-center-read"
  role  = aws_iam_role.identity_center[0].id
  policy = templatefile("${local.policies}/identity-center-read.json.tftpl", {
    partition  = local.partition
    account_id = local.account_id
  })
}
