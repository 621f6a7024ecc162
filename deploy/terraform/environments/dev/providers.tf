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
    tags = { environment = "dev", application = "changecast" }
  }
}

# One provider per customer account (providers cannot be created in a loop). Onboarding a
# customer adds one provider block and one module block (docs/runbooks/onboarding.md).
provider "aws" {
  alias  = "acme"
  region = var.customers["acme"].region
  assume_role {
    role_arn = "arn:aws:iam::${var.customers["acme"].account_id}:role/${var.customer_deploy_role_name}"
  }
  default_tags {
    tags = { environment = "dev", application = "changecast" }
  }
}

provider "aws" {
  alias  = "globex"
  region = var.customers["globex"].region
  assume_role {
    role_arn = "arn:aws:iam::${var.customers["globex"].account_id}:role/${var.customer_deploy_role_name}"
  }
  default_tags {
    tags = { environment = "dev", application = "changecast" }
  }
}
