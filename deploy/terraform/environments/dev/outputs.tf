output "hub" {
  description = "Everything the runbooks look up: queues, DLQs, roles, secrets, dashboard."
  value = {
    bucket_name          = module.hub.bucket_name
    config_uri           = module.hub.config_uri
    queue_arns           = module.hub.queue_arns
    dlq_arns             = module.hub.dlq_arns
    worker_role_arns     = module.hub.worker_role_arns
    worker_functions     = module.hub.worker_function_names
    portal_endpoint      = module.hub.portal_endpoint
    portal_role_arn      = module.hub.portal_role_arn
    runtime_secret_arn   = module.hub.runtime_secret_arn
    database_endpoint    = module.hub.database_endpoint
    database_secret_arn  = module.hub.database_master_secret_arn
    ses_events_queue_arn = module.hub.ses_events_queue_arn
    ses_events_role_arn  = module.hub.ses_events_role_arn
    alarm_topic_arn      = module.hub.alarm_topic_arn
    dashboard_name       = module.hub.dashboard_name
  }
}

output "migrate_function_name" {
  description = "changecast deploy migrate --function $(terraform output -raw migrate_function_name)"
  value       = module.hub.migrate_function_name
}

output "portal_url" {
  description = "The portal's address: the IdP's ACS URL is <this>/saml/acs."
  value       = module.hub.portal_url
}

output "portal_endpoint" {
  description = "The load balancer's DNS name (ecs) or the HTTP API's URL (lambda): the target of the portal's DNS record."
  value       = module.hub.portal_endpoint
}

output "portal_repository_url" {
  description = "make image REGISTRY=$(terraform output -raw portal_repository_url) TAG=<release>"
  value       = module.hub.portal_repository_url
}

output "portal_service" {
  description = "ECS cluster and service of the portal (null in lambda mode)."
  value       = module.hub.portal_service
}

output "runtime_secret_arn" {
  description = "Where the runtime secret's value goes (docs/runbooks/secret-schema.md)."
  value       = module.hub.runtime_secret_arn
}

output "bucket_name" {
  description = "Where config.json goes: s3://<this>/config/config.json."
  value       = module.hub.bucket_name
}

# customers.generated.tf adds `customer_mappings` (config.json's entries as the roles exist)
# and `customers` (roles, configuration set, DKIM tokens per customer account).

output "operator_env" {
  description = "eval \"$(terraform output -json operator_env | jq -r 'to_entries[] | \"export \\(.key)=\\(.value)\"')\" before `changecast doctor --all`."
  value       = module.hub.operator_env
}
