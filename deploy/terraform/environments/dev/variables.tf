# Deployment choices of this environment (terraform.tfvars; see terraform.tfvars.example).

variable "customer_deploy_role_name" {
  description = "Role Terraform assumes in each customer account (e.g. OrganizationAccountAccessRole)."
  type        = string
  default     = "changecast-terraform"
}

variable "lambda_architecture" {
  description = "x86_64 or arm64 (which dist/ zip to deploy)."
  type        = string
  default     = "arm64"
}

variable "dist_dir" {
  description = "Where `changecast package lambda --out dist/` wrote the zips."
  type        = string
  default     = "../../../../dist"
}

variable "portal_mode" {
  description = "ecs (default) or lambda."
  type        = string
  default     = "ecs"
}

variable "portal_image" {
  description = "Portal container image (ecs mode)."
  type        = string
  default     = null
}

variable "portal_certificate_arn" {
  description = "ACM certificate of the portal host name (ecs mode)."
  type        = string
  default     = null
}

variable "vpc_id" {
  description = "Hub VPC."
  type        = string
}

variable "private_subnet_ids" {
  description = "Hub private subnets."
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "Load balancer subnets (empty: the private ones, for an internal ALB)."
  type        = list(string)
  default     = []
}

variable "alarm_emails" {
  description = "Who receives alarms."
  type        = list(string)
  default     = []
}

variable "operator_role_arns" {
  description = "Operators' hub roles that may assume each customer's admin role."
  type        = list(string)
  default     = []
}
