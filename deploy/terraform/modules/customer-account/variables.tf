variable "customer" {
  description = "This customer's entry of customers.auto.tfvars.json (`changecast deploy tfvars`)."
  type = object({
    code                 = string
    name                 = string
    environment          = string
    region               = string
    account_id           = string
    ses_role_name        = string
    ses_role_path        = string
    ses_role_external_id = string
    ses_admin_role_name  = string
    queue_name           = string
    queue_arn            = string
    contact_list_name    = string
  })
  validation {
    condition     = var.customer.ses_role_external_id != null
    error_message = "ses_role_external_id is required: the SES role's trust policy asks for it."
  }
}

variable "worker_role_arn" {
  description = "The hub worker role of this customer (hub output worker_role_arns[code]): the only principal the SES sending role trusts."
  type        = string
}

variable "portal_role_arn" {
  description = "The hub portal role, trusted by the admin role for recipient counts; null to leave it out."
  type        = string
  default     = null
}

variable "admin_principal_arns" {
  description = "Operators' roles that may assume the admin role (ses topics apply, contacts backup/restore, ses send-test)."
  type        = list(string)
  default     = []
}

variable "sender_domain" {
  description = "email_config.domain."
  type        = string
}

variable "sender_addresses" {
  description = "email_config.sender_address and meeting_organizer."
  type        = list(string)
}

variable "manage_identity" {
  description = "Create the SES domain identity here (DKIM records to publish are in the outputs). False when `changecast ses domain` or another stack owns it."
  type        = bool
  default     = true
}

variable "ses_events_queue_arn" {
  description = "The hub's SES events queue (hub output ses_events_queue_arn); null for no subscription."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of resource names (the same as the hub's)."
  type        = string
  default     = "changecast"
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "alarm_actions" {
  description = "SNS topic ARNs the SES reputation alarms notify (alarm and OK): a topic in this account, or one elsewhere whose policy lets this account's CloudWatch publish. Empty: the alarms only show in the console."
  type        = list(string)
  default     = []
}

variable "bounce_rate_alarm_threshold" {
  description = "Reputation.BounceRate above which the alarm fires (a fraction); SES reviews an account at 0.05."
  type        = number
  default     = 0.05
  validation {
    condition     = var.bounce_rate_alarm_threshold > 0 && var.bounce_rate_alarm_threshold <= 0.05
    error_message = "bounce_rate_alarm_threshold is a fraction above 0 and at most 0.05 (SES reviews the account at 5%)."
  }
}

variable "complaint_rate_alarm_threshold" {
  description = "Reputation.ComplaintRate above which the alarm fires (a fraction); SES reviews an account at 0.001."
  type        = number
  default     = 0.001
  validation {
    condition     = var.complaint_rate_alarm_threshold > 0 && var.complaint_rate_alarm_threshold <= 0.001
    error_message = "complaint_rate_alarm_threshold is a fraction above 0 and at most 0.001 (SES reviews the account at 0.1%)."
  }
}

variable "events_role_arn" {
  description = "The hub's SES events worker role (hub output ses_events_role_arn): trusted by the ses-suppression role; null for none."
  type        = string
  default     = null
}

variable "identity_center_read" {
  description = "Create the read-only Identity Center role (identity_center_role_arn) for `changecast identity import`; needs admin_principal_arns."
  type        = bool
  default     = true
}

variable "queue_arn" {
  description = "The customer's trigger queue in the hub (hub output queue_arns[code]): config.json's sqs_queue_arn in the config_mapping output; null leaves it out."
  type        = string
  default     = null
}
