data "aws_vpc" "main" {
  id = var.vpc_id
}

resource "aws_security_group" "workers" {
  name        = "${local.prefix}-workers"
  description = "Worker Lambdas: no inbound; out to AWS APIs over HTTPS and to the index"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_egress_rule" "workers_https" {
  security_group_id = aws_security_group.workers.id
  description       = "AWS APIs (S3, SQS, STS, SES, DynamoDB, Secrets Manager) over TLS"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "workers_db" {
  security_group_id            = aws_security_group.workers.id
  description                  = "The index database"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.db.id
}

resource "aws_security_group" "portal" {
  name        = "${local.prefix}-portal"
  description = "Portal tasks or Lambda: in from the load balancer only; out to AWS APIs and the index"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_egress_rule" "portal_https" {
  security_group_id = aws_security_group.portal.id
  description       = "AWS APIs and the SAML IdP over TLS"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "portal_db" {
  security_group_id            = aws_security_group.portal.id
  description                  = "The index database"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.db.id
}

resource "aws_security_group" "db" {
  name        = "${local.prefix}-db"
  description = "The index database: in from the portal and the workers only"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "db_from_portal" {
  security_group_id            = aws_security_group.db.id
  description                  = "Portal"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.portal.id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_workers" {
  security_group_id            = aws_security_group.db.id
  description                  = "Workers (execution records into the index)"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.workers.id
}
