module "hub" {
  source      = "../../modules/hub"
  name_prefix = local.name_prefix

  bucket_name      = var.bucket_name
  customers        = var.customers
  sender_domain    = var.sender_domain
  sender_addresses = var.sender_addresses

  lambda_architecture = var.lambda_architecture
  worker_zip          = "${var.dist_dir}/changecast-worker-${var.lambda_architecture}.zip"
  migrate_zip         = "${var.dist_dir}/changecast-migrate-${var.lambda_architecture}.zip"
  portal_zip          = var.portal_mode == "lambda" ? "${var.dist_dir}/changecast-portal-${var.lambda_architecture}.zip" : null

  portal_mode            = var.portal_mode
  portal_image           = var.portal_image
  portal_image_tag       = var.portal_image_tag
  portal_certificate_arn = var.portal_certificate_arn
  portal_domain_name     = var.portal_domain_name
  portal_route53_zone_id = var.portal_route53_zone_id
  portal_ingress_cidrs   = var.portal_ingress_cidrs
  portal_internal        = var.portal_internal
  vpc_id                 = var.vpc_id
  private_subnet_ids     = var.private_subnet_ids
  public_subnet_ids      = var.public_subnet_ids

  # What the processes read (settings_variables.tf): sign-in, the portal's address, proxies.
  portal_base_url               = var.portal_base_url
  saml_idp_metadata_url         = var.saml_idp_metadata_url
  saml_idp_entity_id            = var.saml_idp_entity_id
  saml_idp_sso_url              = var.saml_idp_sso_url
  saml_idp_slo_url              = var.saml_idp_slo_url
  saml_sp_entity_id             = var.saml_sp_entity_id
  saml_allowed_email_domains    = var.saml_allowed_email_domains
  saml_change_manager_groups    = var.saml_change_manager_groups
  saml_auditor_groups           = var.saml_auditor_groups
  saml_read_only_groups         = var.saml_read_only_groups
  saml_customer_manager_pattern = var.saml_customer_manager_pattern
  saml_customer_manager_groups  = var.saml_customer_manager_groups
  portal_trusted_proxy_hops     = var.portal_trusted_proxy_hops
  portal_forwarded_allow_ips    = var.portal_forwarded_allow_ips
  extra_env                     = var.extra_env

  portal_desired_count   = 2
  worker_max_concurrency = 5
  db_instance_class      = "db.t4g.medium"
  db_multi_az            = true
  deletion_protection    = true
  alarm_emails         = var.alarm_emails
}
