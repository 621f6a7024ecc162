module "hub" {
  source = "../../modules/hub"

  bucket_name      = var.bucket_name
  customers        = var.customers
  sender_domain    = var.sender_domain
  sender_addresses = var.sender_addresses

  lambda_architecture = var.lambda_architecture
  worker_zip          = "${var.dist_dir}/changecast-worker-${var.lambda_architecture}.zip"
  portal_zip          = var.portal_mode == "lambda" ? "${var.dist_dir}/changecast-portal-${var.lambda_architecture}.zip" : null

  portal_mode            = var.portal_mode
  portal_image           = var.portal_image
  portal_certificate_arn = var.portal_certificate_arn
  portal_desired_count   = 2
  vpc_id                 = var.vpc_id
  private_subnet_ids     = var.private_subnet_ids
  public_subnet_ids      = var.public_subnet_ids

  worker_max_concurrency = 5
  db_instance_class      = "db.t4g.medium"
  db_multi_az            = true
  deletion_protection    = true
  alarm_emails           = var.alarm_emails
}

module "customer_acme" {
  source    = "../../modules/customer-account"
  providers = { aws = aws.acme }

  customer             = var.customers["acme"]
  worker_role_arn      = module.hub.worker_role_arns["acme"]
  portal_role_arn      = module.hub.portal_role_arn
  admin_principal_arns = var.operator_role_arns
  sender_domain        = var.sender_domain
  sender_addresses     = var.sender_addresses
  ses_events_queue_arn = module.hub.ses_events_queue_arn
  events_role_arn      = module.hub.ses_events_role_arn
}

module "customer_globex" {
  source    = "../../modules/customer-account"
  providers = { aws = aws.globex }

  customer             = var.customers["globex"]
  worker_role_arn      = module.hub.worker_role_arns["globex"]
  portal_role_arn      = module.hub.portal_role_arn
  admin_principal_arns = var.operator_role_arns
  sender_domain        = var.sender_domain
  sender_addresses     = var.sender_addresses
  ses_events_queue_arn = module.hub.ses_events_queue_arn
  events_role_arn      = module.hub.ses_events_role_arn
}
