output "bucket_name" {
  description = "The system-of-record bucket."
  value       = aws_s3_bucket.main.bucket
}

output "config_uri" {
  description = "Where to upload config.json (CHANGECAST_CONFIG of every process)."
  value       = local.config_uri
}

output "kms_key_arn" {
  description = "The hub's KMS key."
  value       = aws_kms_key.hub.arn
}

output "queue_arns" {
  description = "Trigger queue per customer: config.json's sqs_queue_arn."
  value       = { for code, q in aws_sqs_queue.trigger : code => q.arn }
}

output "queue_urls" {
  description = "Trigger queue URL per customer."
  value       = { for code, q in aws_sqs_queue.trigger : code => q.url }
}

output "dlq_arns" {
  description = "Dead-letter queue ARN per customer (aws sqs start-message-move-task --source-arn)."
  value       = { for code, q in aws_sqs_queue.trigger_dlq : code => q.arn }
}

output "worker_role_arns" {
  description = "Hub worker role per customer: the only principal each customer's SES role trusts."
  value       = { for code, r in aws_iam_role.worker : code => r.arn }
}

output "worker_function_names" {
  description = "Worker Lambda per customer."
  value       = { for code, f in aws_lambda_function.worker : code => f.function_name }
}

output "portal_role_arn" {
  description = "The portal's role (customer admin roles trust it for recipient counts)."
  value       = aws_iam_role.portal.arn
}

output "portal_endpoint" {
  description = "The load balancer's DNS name (ecs) or the HTTP API's URL (lambda)."
  value       = var.portal_mode == "ecs" ? aws_lb.portal[0].dns_name : aws_apigatewayv2_api.portal[0].api_endpoint
}

output "ledger_table" {
  description = "CHANGECAST_DELIVERY__LEDGER_TABLE."
  value       = aws_dynamodb_table.ledger.name
}

output "runtime_secret_arn" {
  description = "CHANGECAST_SECRETS_ID: write session_secret (and links_secret, saml_idp_cert) here (docs/runbooks/secret-schema.md)."
  value       = aws_secretsmanager_secret.runtime.arn
}

output "database_endpoint" {
  description = "host:port of the index database."
  value       = aws_db_instance.index.endpoint
}

output "database_master_secret_arn" {
  description = "The RDS-managed secret (username, password) every process reads: CHANGECAST_DATABASE_SECRET_ID."
  value       = aws_db_instance.index.master_user_secret[0].secret_arn
}

output "ses_events_queue_arn" {
  description = "Where customer accounts' SES event topics deliver."
  value       = aws_sqs_queue.ses_events.arn
}

output "alarm_topic_arn" {
  description = "Every alarm notifies this topic."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "The CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.main.dashboard_name
}

output "ses_events_role_arn" {
  description = "The SES events worker's role: the customer-account module's events_role_arn (trusted by its ses-suppression role)."
  value       = aws_iam_role.ses_events.arn
}

output "database_url" {
  description = "CHANGECAST_DATABASE_URL of every process: no credentials (they come from database_master_secret_arn)."
  value       = local.database_url
}

output "migrate_function_name" {
  description = "`changecast deploy migrate --function <this>` brings the index to this release's schema."
  value       = aws_lambda_function.migrate.function_name
}

output "portal_url" {
  description = "The portal's address (portal_base_url, else https://<portal_domain_name>, else the endpoint)."
  value       = local.portal_base_url != null ? local.portal_base_url : (var.portal_mode == "ecs" ? "https://${aws_lb.portal[0].dns_name}" : aws_apigatewayv2_api.portal[0].api_endpoint)
}

output "portal_repository_url" {
  description = "ECR repository of the portal image: `make image REGISTRY=<this> TAG=<release>`."
  value       = aws_ecr_repository.portal.repository_url
}

output "portal_service" {
  description = "ECS cluster and service of the portal (ecs mode, once portal_image_tag is set; else null)."
  value       = local.ecs_service == 1 ? { cluster = aws_ecs_cluster.portal[0].name, service = aws_ecs_service.portal[0].name } : null
}

output "worker_function_arns" {
  description = "Worker Lambda ARN per customer."
  value       = { for code, f in aws_lambda_function.worker : code => f.arn }
}

output "operator_env" {
  description = "The settings the processes get (no secret values), plus the SES events queue: export them to run `changecast doctor` or other CLI commands against this environment."
  value = merge(local.common_env, local.portal_settings_env, {
    CHANGECAST_EVENTS__QUEUE_URL = aws_sqs_queue.ses_events.url
  })
}
