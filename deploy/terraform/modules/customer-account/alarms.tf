# Reputation alarms of this customer's SES account. SES reviews an account whose bounce rate
# passes 5% or whose complaint rate passes 0.1%, and may pause its sending. The metrics are
# account-wide (no dimensions) in this account and region; docs/runbooks/ses-reputation.md
# says what to do when one fires.
resource "aws_cloudwatch_metric_alarm" "ses_bounce_rate" {
  alarm_name          = "${local.prefix}-${var.customer.code}-ses-bounce-rate"
  alarm_description   = "SES bounce rate of ${var.customer.code} is over ${var.bounce_rate_alarm_threshold * 100}% (SES reviews the account at 5%): clean the contact list before the next send (runbook: ses-reputation.md)."
  namespace           = "AWS/SES"
  metric_name         = "Reputation.BounceRate"
  statistic           = "Maximum"
  period              = 900
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.bounce_rate_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "ses_complaint_rate" {
  alarm_name          = "${local.prefix}-${var.customer.code}-ses-complaint-rate"
  alarm_description   = "SES complaint rate of ${var.customer.code} is over ${var.complaint_rate_alarm_threshold * 100}% (SES reviews the account at 0.1%): check who is subscribed to which topic (runbook: ses-reputation.md)."
  namespace           = "AWS/SES"
  metric_name         = "Reputation.ComplaintRate"
  statistic           = "Maximum"
  period              = 900
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.complaint_rate_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}
