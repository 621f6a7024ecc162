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
