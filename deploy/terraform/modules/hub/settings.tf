# The operator's settings of the processes, as CHANGECAST_* environment variables (the names
# docs/settings.md lists). Each is also a variable of environments/<env> (settings_variables.tf)
# with the same name. null (the default) leaves the code's own default. Secrets never go here:
# they live in the runtime secret (docs/runbooks/secret-schema.md).

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

locals {
  portal_base_url = var.portal_base_url != null ? var.portal_base_url : (
    var.portal_domain_name != null ? "https://${var.portal_domain_name}" : null
  )

  # Every process (main.tf merges it under the settings Terraform sets itself).
  settings_env = merge(var.extra_env, local.portal_base_url == null ? {} : {
    CHANGECAST_WEB__BASE_URL = local.portal_base_url
  })

  # The portal only: sign-in and the proxies in front of it (null entries are left out).
  portal_settings_env = {
    for name, value in {
      CHANGECAST_SAML__IDP_METADATA_URL               = var.saml_idp_metadata_url
      CHANGECAST_SAML__IDP_ENTITY_ID                  = var.saml_idp_entity_id
      CHANGECAST_SAML__IDP_SSO_URL                    = var.saml_idp_sso_url
      CHANGECAST_SAML__IDP_SLO_URL                    = var.saml_idp_slo_url
      CHANGECAST_SAML__SP_ENTITY_ID                   = var.saml_sp_entity_id
      CHANGECAST_SAML__ALLOWED_EMAIL_DOMAINS          = length(var.saml_allowed_email_domains) > 0 ? join(",", var.saml_allowed_email_domains) : null
      CHANGECAST_SAML__ROLES__CHANGE_MANAGER_GROUPS   = var.saml_change_manager_groups == null ? null : jsonencode(var.saml_change_manager_groups)
      CHANGECAST_SAML__ROLES__AUDITOR_GROUPS          = var.saml_auditor_groups == null ? null : jsonencode(var.saml_auditor_groups)
      CHANGECAST_SAML__ROLES__READ_ONLY_GROUPS        = var.saml_read_only_groups == null ? null : jsonencode(var.saml_read_only_groups)
      CHANGECAST_SAML__ROLES__CUSTOMER_MANAGER_PATTERN = var.saml_customer_manager_pattern
      CHANGECAST_SAML__ROLES__CUSTOMER_MANAGER_GROUPS = length(var.saml_customer_manager_groups) > 0 ? jsonencode(var.saml_customer_manager_groups) : null
      CHANGECAST_WEB__TRUSTED_PROXY_HOPS              = tostring(var.portal_trusted_proxy_hops != null ? var.portal_trusted_proxy_hops : (var.portal_mode == "ecs" ? 1 : 0))
    } : name => value if value != null
  }

  # `changecast serve` behind the ALB trusts the forwarded headers of the VPC's addresses only.
  portal_ecs_env = merge(local.portal_settings_env, {
    CHANGECAST_WEB__FORWARDED_ALLOW_IPS = var.portal_forwarded_allow_ips != null ? join(",", var.portal_forwarded_allow_ips) : data.aws_vpc.main.cidr_block
  })

  # Lambda answers whole responses: no streamed submit results.
  portal_lambda_env = merge(local.portal_settings_env, {
    CHANGECAST_WEB__STREAMING = "false"
  })
}
