# Inputs of the hub module. The first block comes from config.json through
# `changecast deploy tfvars` (customers.auto.tfvars.json); the rest are deployment choices.

variable "bucket_name" {
  description = "s3_config.bucket_name: the system-of-record bucket."
  type        = string
}

variable "customers" {
  description = "customer_mappings of config.json, as `changecast deploy tfvars` writes them."
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
  validation {
    condition     = length(var.customers) > 0 && alltrue([for k, c in var.customers : k == c.code])
    error_message = "Each key of customers must equal its code (run `changecast deploy tfvars`)."
  }
  validation {
    condition     = alltrue([for c in values(var.customers) : c.ses_role_external_id != null])
    error_message = "Every customer needs ses_role_external_id in config.json: the SES role's trust policy requires it."
  }
}

variable "sender_domain" {
  description = "email_config.domain: the SES identity every customer account verifies."
  type        = string
}

variable "sender_addresses" {
  description = "email_config.sender_address and meeting_organizer."
  type        = list(string)
}

# ---- naming and artifacts -------------------------------------------------------------------

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "changecast"
}

variable "lambda_architecture" {
  description = "x86_64 or arm64: which zip of `changecast package lambda --out dist/` to deploy."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture is x86_64 or arm64."
  }
}

variable "worker_zip" {
  description = "Path of dist/changecast-worker-<arch>.zip."
  type        = string
}

variable "migrate_zip" {
  description = "Path of dist/changecast-migrate-<arch>.zip (the migrate function)."
  type        = string
}

variable "portal_zip" {
  description = "Path of dist/changecast-portal-<arch>.zip (portal_mode = \"lambda\" only)."
  type        = string
  default     = null
}

# ---- workers ------------------------------------------------------------------------------

variable "worker_timeout_seconds" {
  description = "Longest run of one worker invocation."
  type        = number
  default     = 300
}

variable "worker_memory_mb" {
  description = "Worker Lambda memory."
  type        = number
  default     = 512
}

variable "worker_batch_size" {
  description = "SQS records per invocation."
  type        = number
  default     = 10
}

variable "worker_max_concurrency" {
  description = "Maximum concurrent worker invocations per customer (SQS event source scaling)."
  type        = number
  default     = 2
  validation {
    condition     = var.worker_max_concurrency >= 2 && var.worker_max_concurrency <= 1000
    error_message = "SQS event sources take a maximum concurrency from 2 to 1000."
  }
}

variable "max_receive_count" {
  description = "Receives before a trigger moves to its customer's DLQ."
  type        = number
  default     = 5
}

variable "oldest_message_alarm_seconds" {
  description = "Alarm when a customer's oldest trigger waits longer than this."
  type        = number
  default     = 900
}

# ---- portal -------------------------------------------------------------------------------

variable "portal_mode" {
  description = "ecs (uvicorn on Fargate behind an ALB; the default) or lambda (API Gateway HTTP API)."
  type        = string
  default     = "ecs"
  validation {
    condition     = contains(["ecs", "lambda"], var.portal_mode)
    error_message = "portal_mode is ecs or lambda."
  }
}

variable "portal_image" {
  description = "Full container image reference of the portal (ecs mode; it runs `changecast serve`); null: portal_image_tag in this hub's ECR repository."
  type        = string
  default     = null
}

variable "portal_cpu" {
  description = "Fargate CPU units of one portal task."
  type        = number
  default     = 512
}

variable "portal_memory_mb" {
  description = "Fargate memory of one portal task."
  type        = number
  default     = 1024
}

variable "portal_desired_count" {
  description = "Portal tasks behind the ALB."
  type        = number
  default     = 2
}

variable "portal_certificate_arn" {
  description = "ACM certificate of the portal's host name (ALB HTTPS listener, or the API Gateway custom domain); null: made here when portal_domain_name and portal_route53_zone_id are set."
  type        = string
  default     = null
}

variable "portal_ingress_cidrs" {
  description = "Who may reach the portal's load balancer on 443."
  type        = list(string)
  default     = ["10.0.0.0/8"]
}

variable "vpc_id" {
  description = "VPC of the database, the workers and the portal."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (database, Lambdas, portal tasks). They need a NAT gateway or VPC endpoints for S3, SQS, STS, SES, DynamoDB, Secrets Manager and CloudWatch Logs."
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "Subnets of the portal's load balancer (ecs mode); private ones for an internal ALB."
  type        = list(string)
  default     = []
}

variable "portal_internal" {
  description = "Whether the ALB is internal (reached over VPN/Direct Connect)."
  type        = bool
  default     = true
}

# ---- database -----------------------------------------------------------------------------

variable "db_instance_class" {
  description = "RDS instance class of the index."
  type        = string
  default     = "db.t4g.small"
}

variable "db_allocated_storage_gb" {
  description = "Initial storage of the index database."
  type        = number
  default     = 20
}

variable "db_engine_version" {
  description = "PostgreSQL major version."
  type        = string
  default     = "16"
}

variable "db_multi_az" {
  description = "Standby in a second AZ."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Automated backups of the index (it can also be rebuilt from S3)."
  type        = number
  default     = 7
}

# ---- protection and monitoring ------------------------------------------------------------

variable "deletion_protection" {
  description = "Protect the bucket's data, the ledger, the database and the ALB from deletion."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention."
  type        = number
  default     = 365
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (they confirm by email)."
  type        = list(string)
  default     = []
}

variable "ledger_ttl_attribute" {
  description = "Ledger item attribute (epoch seconds) after which DynamoDB deletes the item."
  type        = string
  default     = "expires_at"
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "index_upkeep_schedule" {
  description = "When the index upkeep (`changecast index optimize`) runs: an EventBridge Scheduler expression, UTC."
  type        = string
  default     = "cron(17 3 * * ? *)"
}
