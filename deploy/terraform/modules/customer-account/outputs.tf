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
