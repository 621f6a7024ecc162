# Exactly the variables `changecast deploy tfvars --config config.json` writes into
# customers.auto.tfvars.json (tests/deploy checks that the two agree). Do not set them by hand.

variable "aws_region" {
  description = "config.json aws_region: the hub's region."
  type        = string
}

variable "bucket_name" {
  description = "config.json s3_config.bucket_name."
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

variable "customers" {
  description = "config.json customer_mappings, one object per customer (the hub module's shape)."
  type = map(object({
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
  }))
}
