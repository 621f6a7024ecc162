# A customer whose own team applies its account's part (instead of the hub's environment
# doing it through a provider alias). The hub team sends them the three inputs below, taken
# from customers.auto.tfvars.json and the hub's outputs; state stays in the customer's account.
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
  description = "Hub output worker_role_arns[code]."
  type        = string
}

variable "portal_role_arn" {
  description = "Hub output portal_role_arn."
  type        = string
}

variable "ses_events_queue_arn" {
  description = "Hub output ses_events_queue_arn."
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
  description = "Hub operators' roles allowed to manage the contact list."
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
}

output "ses_role_arn" {
  description = "Send back to the hub team for config.json."
  value       = module.customer.ses_role_arn
}

output "ses_admin_role_arn" {
  description = "Send back to the hub team for config.json."
  value       = module.customer.ses_admin_role_arn
}
