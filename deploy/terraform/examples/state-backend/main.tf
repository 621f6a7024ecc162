# Run once per hub account, with local state, before any environment: the S3 bucket and the
# DynamoDB table that environments/*/backend.hcl name. Then keep this directory's own state
# file safe (or migrate it into the bucket it created with `terraform init -migrate-state`).
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70.0, < 7.0.0"
    }
  }
}

variable "region" {
  description = "Region of the state bucket and lock table."
  type        = string
  default     = "us-east-1"
}

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  bucket = "changecast-tfstate-${data.aws_caller_identity.current.account_id}"
}

resource "aws_kms_key" "state" {
  description         = "Terraform state of changecast"
  enable_key_rotation = true
  policy = templatefile("${path.module}/../../policies/kms-account.json.tftpl", {
    partition  = data.aws_partition.current.partition
    account_id = data.aws_caller_identity.current.account_id
  })
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Access to state is recorded by CloudTrail; a log bucket for the state bucket would need its own state.
  #checkov:skip=CKV_AWS_144:State is versioned in one region; losing the region means re-importing, which the runbook covers.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to state writes; event notifications have no consumer.
  bucket = local.bucket
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_policy" "state" {
  bucket     = aws_s3_bucket.state.id
  policy     = templatefile("${path.module}/../../policies/bucket.json.tftpl", { bucket_arn = aws_s3_bucket.state.arn })
  depends_on = [aws_s3_bucket_public_access_block.state]
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    id     = "old-state-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
  depends_on = [aws_s3_bucket_versioning.state]
}

resource "aws_dynamodb_table" "lock" {
  name                        = "changecast-tflock"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "LockID"
  deletion_protection_enabled = true

  attribute {
    name = "LockID"
    type = "S"
  }
  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.state.arn
  }
}

output "backend_hcl" {
  description = "The text of environments/<env>/backend.hcl (replace ENV): `terraform output -raw backend_hcl | sed s/ENV/dev/ > ../../environments/dev/backend.hcl`."
  value       = <<-EOT
    bucket         = "${aws_s3_bucket.state.bucket}"
    key            = "changecast/ENV/terraform.tfstate"
    region         = "${var.region}"
    dynamodb_table = "${aws_dynamodb_table.lock.name}"
    encrypt        = true
  EOT
}
