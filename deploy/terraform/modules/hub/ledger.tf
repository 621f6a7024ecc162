# The delivery ledger: pk = {customer}#{changeId}#v{n}#{event}, sk = {channel}#{recipient}.
# Each worker's policy limits it to items whose pk starts with its own code (dynamodb:LeadingKeys).
resource "aws_dynamodb_table" "ledger" {
  name                        = "${local.prefix}-ledger"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  ttl {
    attribute_name = var.ledger_ttl_attribute
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.hub.arn
  }

  tags = local.tags
}
