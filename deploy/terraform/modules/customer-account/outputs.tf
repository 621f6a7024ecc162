output "ses_role_arn" {
  description = "config.json's ses_role_arn for this customer."
  value       = aws_iam_role.ses_sending.arn
}

output "ses_admin_role_arn" {
  description = "config.json's ses_admin_role_arn (null when no admin principals were given)."
  value       = length(aws_iam_role.ses_admin) > 0 ? aws_iam_role.ses_admin[0].arn : null
}

output "configuration_set_name" {
  description = "The configuration set (the domain identity's default)."
  value       = aws_sesv2_configuration_set.main.configuration_set_name
}

output "dkim_tokens" {
  description = "Publish <token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com for each."
  value       = var.manage_identity ? aws_sesv2_email_identity.domain[0].dkim_signing_attributes[0].tokens : []
}

output "ses_events_topic_arn" {
  description = "SES events of this account."
  value       = aws_sns_topic.ses_events.arn
}

output "reputation_alarm_arns" {
  description = "The SES bounce-rate and complaint-rate alarms of this account."
  value = {
    bounce_rate    = aws_cloudwatch_metric_alarm.ses_bounce_rate.arn
    complaint_rate = aws_cloudwatch_metric_alarm.ses_complaint_rate.arn
  }
}

output "ses_events_role_arn" {
  description = "config.json's ses_events_role_arn: the role that may only add to this account's suppression list (null without events_role_arn)."
  value       = length(aws_iam_role.ses_suppression) > 0 ? aws_iam_role.ses_suppression[0].arn : null
}

output "identity_center_role_arn" {
  description = "config.json's identity_center_role_arn (null when identity_center_read is false or no admin principals were given)."
  value       = length(aws_iam_role.identity_center) > 0 ? aws_iam_role.identity_center[0].arn : null
}

output "config_mapping" {
  description = "This customer's customer_mappings entry of config.json, exactly as the roles and queue exist (null fields left out). Merge it into config.json (docs/runbooks/first-deployment.md)."
  value = {
    for key, value in {
      customer_code            = var.customer.code
      customer_name            = var.customer.name
      environment              = var.customer.environment
      region                   = var.customer.region
      ses_role_arn             = aws_iam_role.ses_sending.arn
      ses_role_external_id     = var.customer.ses_role_external_id
      ses_admin_role_arn       = length(aws_iam_role.ses_admin) > 0 ? aws_iam_role.ses_admin[0].arn : null
      ses_events_role_arn      = length(aws_iam_role.ses_suppression) > 0 ? aws_iam_role.ses_suppression[0].arn : null
      identity_center_role_arn = length(aws_iam_role.identity_center) > 0 ? aws_iam_role.identity_center[0].arn : null
      sqs_queue_arn            = var.queue_arn
      contact_list_name        = var.customer.contact_list_name
      ses_configuration_set    = aws_sesv2_configuration_set.main.configuration_set_name
    } : key => value if value != null
  }
}
