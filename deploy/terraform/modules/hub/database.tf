# PostgreSQL for the index. It is derived data (`changecast index rebuild` refills it from S3),
# except API tokens, sign-in sessions and the SAML replay cache, which its backups keep.
resource "aws_db_subnet_group" "index" {
  name       = "${local.prefix}-index"
  subnet_ids = var.private_subnet_ids
  tags       = local.tags
}

resource "aws_db_parameter_group" "index" {
  name   = "${local.prefix}-index-pg${var.db_engine_version}"
  family = "postgres${var.db_engine_version}"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
  tags = local.tags
}

resource "aws_iam_role" "rds_monitoring" {
  name = "${local.prefix}-rds-monitoring"
  assume_role_policy = templatefile("${local.policies}/monitoring-trust.json.tftpl", {
    account_id = local.account_id
  })
  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "index" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is var.db_multi_az: prod sets true; dev runs one instance because the index can be rebuilt from S3 (`changecast index rebuild`).
  identifier                            = "${local.prefix}-index"
  engine                                = "postgres"
  engine_version                        = var.db_engine_version
  instance_class                        = var.db_instance_class
  allocated_storage                     = var.db_allocated_storage_gb
  max_allocated_storage                 = var.db_allocated_storage_gb * 5
  db_name                               = "changecast"
  username                              = "changecast"
  manage_master_user_password           = true
  master_user_secret_kms_key_id         = aws_kms_key.hub.arn
  db_subnet_group_name                  = aws_db_subnet_group.index.name
  parameter_group_name                  = aws_db_parameter_group.index.name
  vpc_security_group_ids                = [aws_security_group.db.id]
  multi_az                              = var.db_multi_az
  storage_encrypted                     = true
  kms_key_id                            = aws_kms_key.hub.arn
  backup_retention_period               = var.db_backup_retention_days
  copy_tags_to_snapshot                 = true
  deletion_protection                   = var.deletion_protection
  skip_final_snapshot                   = !var.deletion_protection
  final_snapshot_identifier             = "${local.prefix}-index-final"
  auto_minor_version_upgrade            = true
  iam_database_authentication_enabled   = true
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.hub.arn
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  publicly_accessible                   = false
  tags                                  = local.tags
}

locals {
  # postgresql+psycopg://host:port/db, no user or password (they come from the secret below).
  database_url        = "postgresql+psycopg://${aws_db_instance.index.address}:${aws_db_instance.index.port}/${aws_db_instance.index.db_name}"
  database_secret_arn = aws_db_instance.index.master_user_secret[0].secret_arn
}
