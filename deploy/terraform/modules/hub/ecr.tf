# The portal's container image repository. `make image REGISTRY=$(terraform output -raw
# portal_repository_url) TAG=<release>` builds the Dockerfile and pushes it (Docker does not run
# on the project's development machines; run it where Docker does). Tags are immutable: each
# release pushes a new tag and sets portal_image_tag to it.

variable "portal_image_tag" {
  description = "Tag of the image in this hub's ECR repository that the portal runs (ecs mode), e.g. the release 0.1.0; portal_image overrides it."
  type        = string
  default     = null
}

resource "aws_ecr_repository" "portal" {
  name                 = "${local.prefix}-portal"
  image_tag_mutability = "IMMUTABLE"
  force_delete         = !var.deletion_protection

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.hub.arn
  }
  tags = local.tags
}

resource "aws_ecr_lifecycle_policy" "portal" {
  repository = aws_ecr_repository.portal.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last 30 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 30 }
      action       = { type = "expire" }
    }]
  })
}

locals {
  portal_image = var.portal_image != null ? var.portal_image : (
    var.portal_image_tag != null ? "${aws_ecr_repository.portal.repository_url}:${var.portal_image_tag}" : null
  )
}
