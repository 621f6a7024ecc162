output "hub" {
  description = "Everything the runbooks look up: queues, DLQs, roles, secret, dashboard."
  value = {
    bucket_name          = module.hub.bucket_name
    config_uri           = module.hub.config_uri
    queue_arns           = module.hub.queue_arns
    dlq_arns             = module.hub.dlq_arns
    worker_role_arns     = module.hub.worker_role_arns
    worker_functions     = module.hub.worker_function_names
    portal_endpoint      = module.hub.portal_endpoint
    runtime_secret_arn   = module.hub.runtime_secret_arn
    database_endpoint    = module.hub.database_endpoint
    database_secret_arn  = module.hub.database_master_secret_arn
    alarm_topic_arn      = module.hub.alarm_topic_arn
    dashboard_name       = module.hub.dashboard_name
  }
}

output "customers" {
  description = "Per customer account: the roles to put in config.json, DKIM tokens to publish."
  value = {
    acme = {
      ses_role_arn       = module.customer_acme.ses_role_arn
      ses_admin_role_arn = module.customer_acme.ses_admin_role_arn
      dkim_tokens        = module.customer_acme.dkim_tokens
    }
    globex = {
      ses_role_arn       = module.customer_globex.ses_role_arn
      ses_admin_role_arn = module.customer_globex.ses_admin_role_arn
      dkim_tokens        = module.customer_globex.dkim_tokens
    }
  }
}
