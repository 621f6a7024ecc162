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

variable "portal_image_tag" {
  description = "Tag of the portal image in the hub's ECR repository (`make image` pushed it; output portal_repository_url), ecs mode."
  type        = string
  default     = null
}

variable "portal_image" {
  description = "A full portal image reference instead of portal_image_tag (another registry)."
  type        = string
  default     = null
}

variable "portal_certificate_arn" {
  description = "ACM certificate of the portal host name; null: made by the hub when portal_domain_name and portal_route53_zone_id are set."
  type        = string
  default     = null
}

variable "portal_domain_name" {
  description = "The portal's host name (changes.example.com); null: the load balancer's name."
  type        = string
  default     = null
}

variable "portal_route53_zone_id" {
  description = "Hosted zone of portal_domain_name in the hub account: the hub makes the alias record and the certificate; null: you publish the record (output portal_endpoint)."
  type        = string
  default     = null
}

variable "portal_ingress_cidrs" {
  description = "Who may reach the portal's load balancer on 443 (ecs mode)."
  type        = list(string)
  default     = ["10.0.0.0/8"]
}

variable "portal_internal" {
  description = "Whether the load balancer is internal (reached over VPN or Direct Connect)."
  type        = bool
  default     = true
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
  description = "Operators' hub roles that may assume each customer's admin and Identity Center read roles."
  type        = list(string)
  default     = []
}

variable "identity_center_read" {
  description = "Create the read-only Identity Center role (identity_center_role_arn) in each customer account."
  type        = bool
  default     = true
}
