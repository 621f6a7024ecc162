# Default: `changecast serve` (uvicorn) on ECS Fargate behind an Application Load Balancer.
locals {
  ecs = var.portal_mode == "ecs" ? 1 : 0
  # The task and service exist once there is an image to run (the first apply makes the ECR
  # repository; `make image` pushes to it; portal_image_tag then starts the portal).
  ecs_service = var.portal_mode == "ecs" && local.portal_image != null ? 1 : 0
}

resource "aws_iam_role" "portal_execution" {
  count = local.ecs
  name  = "${local.prefix}-portal-execution"
  assume_role_policy = templatefile("${local.policies}/ecs-tasks-trust.json.tftpl", {
    account_id = local.account_id
  })
  tags = local.tags
}

# Image pulls and log delivery (AWS managed; the application's own grants are in portal.json).
resource "aws_iam_role_policy_attachment" "portal_execution" {
  count      = local.ecs
  role       = aws_iam_role.portal_execution[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_ecs_cluster" "portal" {
  count = local.ecs
  name  = "${local.prefix}-portal"
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  tags = local.tags
}

resource "aws_ecs_task_definition" "portal" {
  count                    = local.ecs_service
  family                   = "${local.prefix}-portal"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.portal_cpu
  memory                   = var.portal_memory_mb
  task_role_arn            = aws_iam_role.portal.arn
  execution_role_arn       = aws_iam_role.portal_execution[0].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.lambda_architecture == "arm64" ? "ARM64" : "X86_64"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name                   = "portal"
      image                  = local.portal_image
      essential              = true
      readonlyRootFilesystem = true
      command                = ["changecast", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
      portMappings           = [{ containerPort = 8000, protocol = "tcp" }]
      environment            = [for k, v in local.portal_env : { name = k, value = v }]
      mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.portal.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "portal"
        }
      }
    }
  ])
  tags = local.tags
}

resource "aws_security_group" "alb" {
  #checkov:skip=CKV2_AWS_5:Attached to aws_lb.portal[0] (security_groups); checkov's graph does not follow the count-indexed reference.
  count       = local.ecs
  name        = "${local.prefix}-portal-alb"
  description = "Portal load balancer: HTTPS in from portal_ingress_cidrs; out to the portal tasks"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = local.ecs == 1 ? toset(var.portal_ingress_cidrs) : toset([])
  security_group_id = aws_security_group.alb[0].id
  description       = "HTTPS from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "alb_http_redirect" {
  for_each          = local.ecs == 1 ? toset(var.portal_ingress_cidrs) : toset([])
  security_group_id = aws_security_group.alb[0].id
  description       = "HTTP from ${each.value} (redirected to HTTPS)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_portal" {
  count                        = local.ecs
  security_group_id            = aws_security_group.alb[0].id
  description                  = "Portal tasks"
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
  referenced_security_group_id = aws_security_group.portal.id
}

resource "aws_vpc_security_group_ingress_rule" "portal_from_alb" {
  count                        = local.ecs
  security_group_id            = aws_security_group.portal.id
  description                  = "The load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
  referenced_security_group_id = aws_security_group.alb[0].id
}

resource "aws_lb" "portal" {
  #checkov:skip=CKV_AWS_91:Access logs need a separate log bucket per account; every request is logged by the portal itself (structured logs, request audit) in CloudWatch.
  #checkov:skip=CKV2_AWS_28:WAF is an organisation-level choice (Firewall Manager); the portal authenticates every route through SAML and rate-limits requests itself.
  count                      = local.ecs
  name                       = "${local.prefix}-portal"
  internal                   = var.portal_internal
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb[0].id]
  subnets                    = length(var.public_subnet_ids) > 0 ? var.public_subnet_ids : var.private_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  tags                       = local.tags
}

resource "aws_lb_target_group" "portal" {
  #checkov:skip=CKV_AWS_378:TLS ends at the ALB (HTTPS listener, TLS 1.2+); from there to the tasks is private VPC traffic on port 8000, allowed only from the ALB's security group.
  count       = local.ecs
  name        = "${local.prefix}-portal"
  port        = 8000
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  health_check {
    path                = "/api/health/ready"
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
  tags = local.tags
}

resource "aws_lb_listener" "portal_https" {
  count             = local.ecs
  load_balancer_arn = aws_lb.portal[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = local.portal_certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.portal[0].arn
  }

  lifecycle {
    precondition {
      condition     = local.portal_certificate_arn != null
      error_message = "portal_mode = \"ecs\" needs portal_certificate_arn (ACM), or portal_domain_name with portal_route53_zone_id to make one, for the HTTPS listener."
    }
  }
}

resource "aws_lb_listener" "portal_http" {
  count             = local.ecs
  load_balancer_arn = aws_lb.portal[0].arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_ecs_service" "portal" {
  count           = local.ecs_service
  name            = "${local.prefix}-portal"
  cluster         = aws_ecs_cluster.portal[0].id
  task_definition = aws_ecs_task_definition.portal[0].arn
  desired_count   = var.portal_desired_count
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.portal.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.portal[0].arn
    container_name   = "portal"
    container_port   = 8000
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_lb_listener.portal_https]
  tags       = local.tags
}
