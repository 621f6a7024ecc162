# Option (portal_mode = "lambda"): the same ASGI app through Mangum behind an API Gateway HTTP API.
locals {
  lambda_portal = var.portal_mode == "lambda" ? 1 : 0
}

resource "aws_lambda_function" "portal" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway only; a dead-letter queue applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_272:The zip is built and tested by `changecast package lambda` in CI; code signing needs an AWS Signer profile that this deployment does not assume.
  count            = local.lambda_portal
  function_name    = "${local.prefix}-portal"
  role             = aws_iam_role.portal.arn
  runtime          = "python3.11"
  handler          = "changecast.web.lambda_portal.handler"
  filename         = var.portal_zip
  source_code_hash = filebase64sha256(var.portal_zip)
  architectures    = [var.lambda_architecture]
  timeout          = 30
  memory_size      = 1024
  kms_key_arn      = aws_kms_key.hub.arn

  reserved_concurrent_executions = 20

  environment {
    variables = local.portal_env
  }

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.portal.id]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.portal.name
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.portal_zip != null
      error_message = "portal_mode = \"lambda\" needs portal_zip (dist/changecast-portal-<arch>.zip)."
    }
  }
}

resource "aws_iam_role_policy_attachment" "portal_vpc" {
  count      = local.lambda_portal
  role       = aws_iam_role.portal.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_apigatewayv2_api" "portal" {
  count         = local.lambda_portal
  name          = "${local.prefix}-portal"
  protocol_type = "HTTP"
  tags          = local.tags
}

resource "aws_apigatewayv2_integration" "portal" {
  count                  = local.lambda_portal
  api_id                 = aws_apigatewayv2_api.portal[0].id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.portal[0].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "portal" {
  #checkov:skip=CKV_AWS_309:The portal authenticates every route itself (SAML sessions, API tokens); an API Gateway authorizer would block the SAML sign-in flow.
  count     = local.lambda_portal
  api_id    = aws_apigatewayv2_api.portal[0].id
  route_key = "$default"
  target    = "integrations/${aws_apigatewayv2_integration.portal[0].id}"
}

resource "aws_cloudwatch_log_group" "portal_api" {
  count             = local.lambda_portal
  name              = "/${local.prefix}/portal-api"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.hub.arn
  tags              = local.tags
}

resource "aws_apigatewayv2_stage" "portal" {
  count       = local.lambda_portal
  api_id      = aws_apigatewayv2_api.portal[0].id
  name        = "$default"
  auto_deploy = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.portal_api[0].arn
    format = jsonencode({
      requestId = "$context.requestId"
      ip        = "$context.identity.sourceIp"
      method    = "$context.httpMethod"
      path      = "$context.path"
      status    = "$context.status"
      latencyMs = "$context.responseLatency"
    })
  }

  default_route_settings {
    throttling_burst_limit = 200
    throttling_rate_limit  = 100
  }
  tags = local.tags
}

resource "aws_lambda_permission" "portal_api" {
  count         = local.lambda_portal
  statement_id  = "AllowApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.portal[0].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.portal[0].execution_arn}/*/*"
}
