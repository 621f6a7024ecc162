resource "aws_s3_bucket" "main" {
  #checkov:skip=CKV_AWS_18:Server access logs are not kept; audit/ holds the application's audit trail and CloudTrail S3 data events (organisation trail) record API access.
  #checkov:skip=CKV_AWS_144:One region by design; versioning plus the DR runbook (rebuild the index from S3) cover recovery. Add replication in the environment if a second region is required.
  bucket        = var.bucket_name
  force_destroy = !var.deletion_protection
  tags          = local.tags
}

resource "aws_s3_bucket_versioning" "main" {
  bucket = aws_s3_bucket.main.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "main" {
  bucket = aws_s3_bucket.main.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.hub.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "main" {
  bucket                  = aws_s3_bucket.main.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "main" {
  bucket = aws_s3_bucket.main.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_policy" "main" {
  bucket     = aws_s3_bucket.main.id
  policy     = templatefile("${local.policies}/bucket.json.tftpl", { bucket_arn = aws_s3_bucket.main.arn })
  depends_on = [aws_s3_bucket_public_access_block.main]
}

resource "aws_s3_bucket_lifecycle_configuration" "main" {
  bucket = aws_s3_bucket.main.id

  rule {
    id     = "expire-customer-triggers"
    status = "Enabled"
    filter {
      prefix = "customers/"
    }
    expiration {
      days = 30
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.main]
}

# One notification per customer: objects under customers/{code}/ ending in .json go to that
# customer's queue. drafts/, archive/ and executions/ never trigger anything.
resource "aws_s3_bucket_notification" "main" {
  bucket = aws_s3_bucket.main.id

  dynamic "queue" {
    for_each = var.customers
    content {
      id            = "${local.prefix}-${queue.key}"
      queue_arn     = aws_sqs_queue.trigger[queue.key].arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = "customers/${queue.key}/"
      filter_suffix = ".json"
    }
  }

  depends_on = [aws_sqs_queue_policy.trigger]
}
