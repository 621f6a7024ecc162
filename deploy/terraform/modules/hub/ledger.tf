# The delivery ledger: pk = {customer}#{changeId}#v{n}#{event}, sk = {channel}#{recipient}.
# Each worker's policy limits it to items whose pk starts with its own code (dynamodb:LeadingKeys).
# Suppressed addresses: pk = !suppressed#{customer}, sk = the address (the SES events worker writes them).
# SES outcome marks: pk = ~{the delivery's pk}, sk = {entry sk}~{digest}, append-only (the events worker).
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
  attribute {
    name = "message_id"
    type = "S"
  }
  attribute {
    name = "change_ref"
    type = "S"
  }

  # The SES events worker finds the entry an event is about by its SES message id.
  global_secondary_index {
    name            = "by-message-id"
    hash_key        = "message_id"
    projection_type = "ALL"
  }

  # A customer's entries of one change, every version and event (change_ref = {customer}#{changeId}).
  global_secondary_index {
    name            = "by-change"
    hash_key        = "change_ref"
    range_key       = "sk"
    projection_type = "ALL"
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
