# A customer whose own team applies its account's part (instead of the hub's environment doing
# it through a provider alias in customers.generated.tf). The hub team sends them the inputs
# below: `customer` from customers.auto.tfvars.json, the rest from the hub environment's outputs
# (`terraform output -json hub`: worker_role_arns[code], portal_role_arn, queue_arns[code],
# ses_events_queue_arn, ses_events_role_arn). State stays in the customer's account. The hub
# environment then leaves this customer's module out (`changecast deploy tfvars` writes it; delete
# that customer's provider and module blocks only if the customer applies this instead).
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70.0, < 7.0.0"
    }
  }
  backend "s3" {}
}

variable "customer" {
  description = "This customer's entry of customers.auto.tfvars.json."
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
}

variable "worker_role_arn" {
  description = "Hub output hub.worker_role_arns[code]."
  type        = string
}

variable "portal_role_arn" {
  description = "Hub output hub.portal_role_arn."
  type        = string
}

variable "queue_arn" {
  description = "Hub output hub.queue_arns[code] (config.json's sqs_queue_arn)."
  type        = string
}

variable "ses_events_queue_arn" {
  description = "Hub output hub.ses_events_queue_arn."
  type        = string
}

variable "events_role_arn" {
  description = "Hub output hub.ses_events_role_arn (trusted by this account's ses-suppression role)."
  type        = string
}

variable "sender_domain" {
  description = "config.json email_config.domain."
  type        = string
}

variable "sender_addresses" {
  description = "config.json email_config.sender_address and meeting_organizer."
  type        = list(string)
}

variable "admin_principal_arns" {
  description = "Hub operators' roles allowed to manage the contact list and read Identity Center."
  type        = list(string)
  default     = []
}

provider "aws" {
  region = var.customer.region
}

module "customer" {
  source               = "../../modules/customer-account"
  customer             = var.customer
  worker_role_arn      = var.worker_role_arn
  portal_role_arn      = var.portal_role_arn
  admin_principal_arns = var.admin_principal_arns
  sender_domain        = var.sender_domain
  sender_addresses     = var.sender_addresses
  ses_events_queue_arn = var.ses_events_queue_arn
  events_role_arn      = var.events_role_arn
  queue_arn            = var.queue_arn
}

output "config_mapping" {
  description = "Send back to the hub team: this customer's customer_mappings entry of config.json."
  value       = module.customer.config_mapping
}

output "dkim_tokens" {
  description = "Publish <token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com for each."
  value       = module.customer.dkim_tokens
}
