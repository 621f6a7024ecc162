# Remote state: S3 with a DynamoDB lock table (create both once with examples/state-backend).
# `terraform init -backend-config=backend.hcl` supplies the bucket, key, region and table.
terraform {
  backend "s3" {}
}
