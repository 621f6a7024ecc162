# The portal's host name (optional). With portal_domain_name and portal_route53_zone_id, the hub
# makes an alias record to the ALB (ecs) or to an API Gateway custom domain (lambda), and, unless
# portal_certificate_arn names one, an ACM certificate validated through the same zone. Without
# a zone, publish the record yourself (output portal_endpoint) and pass portal_certificate_arn.

variable "portal_domain_name" {
  description = "Host name of the portal (changes.example.com); null: use portal_endpoint as is."
  type        = string
  default     = null
}

variable "portal_route53_zone_id" {
  description = "Route 53 hosted zone of portal_domain_name (in the hub account); null: no record, no certificate is made here."
  type        = string
  default     = null
}

locals {
  portal_dns         = var.portal_domain_name != null && var.portal_route53_zone_id != null
  create_certificate = local.portal_dns && var.portal_certificate_arn == null
  portal_certificate_arn = var.portal_certificate_arn != null ? var.portal_certificate_arn : (
    local.create_certificate ? aws_acm_certificate_validation.portal[0].certificate_arn : null
  )
}

resource "aws_acm_certificate" "portal" {
  count             = local.create_certificate ? 1 : 0
  domain_name       = var.portal_domain_name
  validation_method = "DNS"
  tags              = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "portal_certificate" {
  for_each = {
    for option in(local.create_certificate ? aws_acm_certificate.portal[0].domain_validation_options : []) :
    option.domain_name => option
  }
  zone_id         = var.portal_route53_zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "portal" {
  count                   = local.create_certificate ? 1 : 0
  certificate_arn         = aws_acm_certificate.portal[0].arn
  validation_record_fqdns = [for record in aws_route53_record.portal_certificate : record.fqdn]
}

resource "aws_route53_record" "portal_alb" {
  count   = local.portal_dns && var.portal_mode == "ecs" ? 1 : 0
  zone_id = var.portal_route53_zone_id
  name    = var.portal_domain_name
  type    = "A"

  alias {
    name                   = aws_lb.portal[0].dns_name
    zone_id                = aws_lb.portal[0].zone_id
    evaluate_target_health = true
  }
}

resource "aws_apigatewayv2_domain_name" "portal" {
  count       = local.portal_dns && var.portal_mode == "lambda" ? 1 : 0
  domain_name = var.portal_domain_name

  domain_name_configuration {
    certificate_arn = local.portal_certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }
  tags = local.tags
}

resource "aws_apigatewayv2_api_mapping" "portal" {
  count       = length(aws_apigatewayv2_domain_name.portal)
  api_id      = aws_apigatewayv2_api.portal[0].id
  domain_name = aws_apigatewayv2_domain_name.portal[0].id
  stage       = aws_apigatewayv2_stage.portal[0].id
}

resource "aws_route53_record" "portal_api" {
  count   = length(aws_apigatewayv2_domain_name.portal)
  zone_id = var.portal_route53_zone_id
  name    = var.portal_domain_name
  type    = "A"

  alias {
    name                   = aws_apigatewayv2_domain_name.portal[0].domain_name_configuration[0].target_domain_name
    zone_id                = aws_apigatewayv2_domain_name.portal[0].domain_name_configuration[0].hosted_zone_id
    evaluate_target_health = false
  }
}
