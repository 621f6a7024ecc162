terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70.0, < 7.0.0"
    }
  }
}

# The hub account: the credentials Terraform runs with.
provider "aws" {
  region = var.aws_region
  default_tags {
    tags = local.default_tags
  }
}

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # Every resource name starts with it (changecast-prod-migrate, changecast-prod-ledger, ...), in
  # the hub and in each customer account, so two environments can share accounts.
  name_prefix  = "changecast-prod"
  default_tags = { environment = "prod", application = "changecast" }
}

# Each customer account's provider alias and module block are in customers.generated.tf, which
# `changecast deploy tfvars --config config.json --out-dir .` writes from config.json with
# customers.auto.tfvars.json (Terraform cannot loop over providers). Nothing here names a customer.
