# What the deployed processes read, as the hub passes them on (modules/hub/settings.tf, where
# each becomes a CHANGECAST_* environment variable; docs/settings.md). Set them in
# terraform.tfvars; null keeps the code's default. Secrets are not here: the runtime secret.

variable "portal_base_url" {
  description = "The portal's address as people and the IdP see it (https://changes.example.com). null: https://<portal_domain_name> when that is set, else config.json's email_config.portal_base_url."
  type        = string
  default     = null
  validation {
    condition     = var.portal_base_url == null || can(regex("^https://[^\\s/]+(/[^\\s]*)?$", var.portal_base_url))
    error_message = "portal_base_url is an https:// address."
  }
}

variable "saml_idp_metadata_url" {
  description = "The IdP's SAML metadata: an https:// URL (IAM Identity Center's metadata URL) or s3://<bucket>/config/idp-metadata.xml. It fills the entity id, SSO URL and certificate."
  type        = string
  default     = null
  validation {
    condition     = var.saml_idp_metadata_url == null || can(regex("^(https|s3)://\\S+$", var.saml_idp_metadata_url))
    error_message = "saml_idp_metadata_url is an https:// or s3:// address."
  }
}

variable "saml_idp_entity_id" {
  description = "The IdP's issuer (entity id), when not read from metadata."
  type        = string
  default     = null
}

variable "saml_idp_sso_url" {
  description = "The IdP's sign-in URL, when not read from metadata."
  type        = string
  default     = null
}

variable "saml_idp_slo_url" {
  description = "Where the browser goes after /saml/logout (the IdP's sign-out URL); null: nowhere."
  type        = string
  default     = null
}

variable "saml_sp_entity_id" {
  description = "The portal's SAML audience; null: <portal_base_url>/saml/metadata."
  type        = string
  default     = null
}

variable "saml_allowed_email_domains" {
  description = "Only these email domains may sign in; empty: any the IdP vouches for."
  type        = list(string)
  default     = []
}

variable "saml_change_manager_groups" {
  description = "IdP groups (names or Identity Center group ids) whose members are ChangeManager; null: the code's default (ccoe-change-managers)."
  type        = list(string)
  default     = null
}

variable "saml_auditor_groups" {
  description = "IdP groups whose members are Auditor; null: the code's default (ccoe-auditors)."
  type        = list(string)
  default     = null
}

variable "saml_read_only_groups" {
  description = "IdP groups whose members are ReadOnly; null: the code's default (ccoe-readonly)."
  type        = list(string)
  default     = null
}

variable "saml_customer_manager_pattern" {
  description = "A group named like this ({code} once) grants CustomerManager of that customer; \"\" turns it off; null: ccoe-customer-{code}."
  type        = string
  default     = null
}

variable "saml_customer_manager_groups" {
  description = "Group (name or id) -> customer codes it grants CustomerManager of, for IdPs that send group ids."
  type        = map(list(string))
  default     = {}
}

variable "portal_trusted_proxy_hops" {
  description = "Proxies in front of the portal whose X-Forwarded-For entries name the client; null: 1 in ecs mode (the ALB), 0 in lambda mode (API Gateway gives the address itself)."
  type        = number
  default     = null
  validation {
    condition     = var.portal_trusted_proxy_hops == null || (coalesce(var.portal_trusted_proxy_hops, 0) >= 0 && coalesce(var.portal_trusted_proxy_hops, 0) <= 5)
    error_message = "portal_trusted_proxy_hops is 0 to 5."
  }
}

variable "portal_forwarded_allow_ips" {
  description = "Networks of the proxies whose X-Forwarded-* headers `changecast serve` trusts (ecs mode); null: the VPC's CIDR (where the ALB is)."
  type        = list(string)
  default     = null
}

variable "extra_env" {
  description = "Any other CHANGECAST_* setting (docs/settings.md) for every process, e.g. CHANGECAST_WEB__SESSION_MAX_AGE_SECONDS. Secrets and the settings Terraform sets itself are refused."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.extra_env) : can(regex("^CHANGECAST_[A-Z0-9_]+$", k))])
    error_message = "extra_env keys are CHANGECAST_* variable names."
  }
  validation {
    condition = length(setintersection(keys(var.extra_env), [
      "CHANGECAST_MODE", "CHANGECAST_CONFIG", "CHANGECAST_SECRETS_ID", "CHANGECAST_DATABASE_URL",
      "CHANGECAST_DATABASE_SECRET_ID", "CHANGECAST_CUSTOMER", "CHANGECAST_DELIVERY__LEDGER_TABLE",
      "CHANGECAST_WEB__SESSION_SECRET", "CHANGECAST_LINKS__SECRET", "CHANGECAST_SAML__IDP_CERT",
      "CHANGECAST_DEV_LOGIN", "CHANGECAST_ALLOW_SELF_APPROVAL", "CHANGECAST_AWS_ENDPOINT_URL",
    ])) == 0
    error_message = "extra_env may not set secrets (runtime secret), dev login, self approval, or what Terraform sets itself."
  }
}
