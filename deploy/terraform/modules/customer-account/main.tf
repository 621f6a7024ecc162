# One customer's account, every role the hub uses here: the SES sending role (trusted only by
# this customer's hub worker, with an external id, allowed only the worker's SES v2 calls on this
# customer's contact list and identity), the admin role (operators and the portal), the
# ses-suppression role (the hub SES events worker), the Identity Center read role
# (identity_center.tf); and the SES configuration set with its events topic. Output
# config_mapping is this customer's config.json entry.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = var.customer.account_id
  region     = var.customer.region
  policies   = "${path.module}/../../policies"
  prefix     = var.name_prefix
  ses_arn    = "arn:${local.partition}:ses:${local.region}:${local.account_id}"

  contact_list_arn      = "${local.ses_arn}:contact-list/${var.customer.contact_list_name}"
  configuration_set_arn = "${local.ses_arn}:configuration-set/${aws_sesv2_configuration_set.main.configuration_set_name}"
  identity_arns = concat(
    ["${local.ses_arn}:identity/${var.sender_domain}"],
    [for address in var.sender_addresses : "${local.ses_arn}:identity/${address}"]
  )
  send_resource_arns = jsonencode(concat(local.identity_arns, [local.configuration_set_arn, local.contact_list_arn]))
  admin_principals   = concat(var.admin_principal_arns, var.portal_role_arn == null ? [] : [var.portal_role_arn])

  tags = merge({ application = "changecast", customer = var.customer.code }, var.tags)
}

check "provider_is_the_customers_account" {
  assert {
    condition     = data.aws_caller_identity.current.account_id == var.customer.account_id
    error_message = "The aws provider of customer ${var.customer.code} is not in its account ${var.customer.account_id} (config.json's ses_role_arn)."
  }
}

resource "aws_iam_role" "ses_sending" {
  name        = var.customer.ses_role_name
  path        = var.customer.ses_role_path
  description = "changecast: the hub worker of ${var.customer.code} sends through this role"
  assume_role_policy = templatefile("${local.policies}/ses-sending-trust.json.tftpl", {
    worker_role_arn = var.worker_role_arn
    external_id     = var.customer.ses_role_external_id
  })
  max_session_duration = 3600
  tags                 = local.tags
}

resource "aws_iam_role_policy" "ses_sending" {
  name = "ses-send"
  role = aws_iam_role.ses_sending.id
  policy = templatefile("${local.policies}/ses-sending.json.tftpl", {
    contact_list_arn   = local.contact_list_arn
    send_resource_arns = local.send_resource_arns
  })
}

resource "aws_iam_role" "ses_admin" {
  count       = length(local.admin_principals) > 0 ? 1 : 0
  name        = coalesce(var.customer.ses_admin_role_name, "${local.prefix}-admin")
  description = "changecast: operators manage the contact list and topics; the portal counts recipients"
  assume_role_policy = templatefile("${local.policies}/ses-admin-trust.json.tftpl", {
    principal_arns = jsonencode(local.admin_principals)
  })
  max_session_duration = 3600
  tags                 = local.tags
}

resource "aws_iam_role_policy" "ses_admin" {
  count = length(aws_iam_role.ses_admin)
  name  = "ses-admin"
  role  = aws_iam_role.ses_admin[0].id
  policy = templatefile("${local.policies}/ses-admin.json.tftpl", {
    contact_list_arn   = local.contact_list_arn
    send_resource_arns = local.send_resource_arns
    events_topic_arn   = aws_sns_topic.ses_events.arn
  })
}

resource "aws_sesv2_configuration_set" "main" {
  configuration_set_name = "${local.prefix}-${var.customer.code}"

  delivery_options {
    tls_policy = "REQUIRE"
  }
  reputation_options {
    reputation_metrics_enabled = true
  }
  sending_options {
    sending_enabled = true
  }
  suppression_options {
    suppressed_reasons = ["BOUNCE", "COMPLAINT"]
  }
  tags = local.tags
}

resource "aws_sesv2_email_identity" "domain" {
  count                  = var.manage_identity ? 1 : 0
  email_identity         = var.sender_domain
  configuration_set_name = aws_sesv2_configuration_set.main.configuration_set_name
  tags                   = local.tags
}

resource "aws_kms_key" "events" {
  description         = "changecast ${var.customer.code}: SES event topic"
  enable_key_rotation = true
  policy = templatefile("${local.policies}/kms-customer.json.tftpl", {
    partition  = local.partition
    account_id = local.account_id
  })
  tags = local.tags
}

resource "aws_sns_topic" "ses_events" {
  name              = "${local.prefix}-ses-events"
  kms_master_key_id = aws_kms_key.events.arn
  tags              = local.tags
}

resource "aws_sns_topic_policy" "ses_events" {
  arn = aws_sns_topic.ses_events.arn
  policy = templatefile("${local.policies}/ses-events-topic.json.tftpl", {
    topic_arn             = aws_sns_topic.ses_events.arn
    account_id            = local.account_id
    configuration_set_arn = local.configuration_set_arn
  })
}

resource "aws_sesv2_configuration_set_event_destination" "events" {
  configuration_set_name = aws_sesv2_configuration_set.main.configuration_set_name
  event_destination_name = "${local.prefix}-events"

  event_destination {
    enabled              = true
    matching_event_types = ["SEND", "DELIVERY", "BOUNCE", "COMPLAINT", "REJECT", "RENDERING_FAILURE", "DELIVERY_DELAY", "SUBSCRIPTION"]
    sns_destination {
      topic_arn = aws_sns_topic.ses_events.arn
    }
  }
  depends_on = [aws_sns_topic_policy.ses_events]
}

resource "aws_sns_topic_subscription" "ses_events_to_hub" {
  count                = var.ses_events_queue_arn == null ? 0 : 1
  topic_arn            = aws_sns_topic.ses_events.arn
  protocol             = "sqs"
  endpoint             = var.ses_events_queue_arn
  # The SNS envelope is kept: its TopicArn is what proves which account published an event.
  raw_message_delivery = false
}

# The hub's SES events worker puts hard bounces and complaints on this account's suppression
# list through this role, and may do nothing else here.
resource "aws_iam_role" "ses_suppression" {
  count       = var.events_role_arn == null ? 0 : 1
  name        = "${local.prefix}-ses-suppression"
  description = "changecast: the hub SES events worker adds suppressed addresses"
  assume_role_policy = templatefile("${local.policies}/ses-suppression-trust.json.tftpl", {
    events_role_arn = var.events_role_arn
    external_id     = var.customer.ses_role_external_id
  })
  max_session_duration = 3600
  tags                 = local.tags
}

resource "aws_iam_role_policy" "ses_suppression" {
  count  = var.events_role_arn == null ? 0 : 1
  name   = "ses-suppress"
  role   = aws_iam_role.ses_suppression[0].id
  policy = templatefile("${local.policies}/ses-suppression.json.tftpl", {})
}
