# The runtime secret (JSON): session_secret, and optionally links_secret and saml_idp_cert
# (docs/runbooks/secret-schema.md); the database password is not in it (the RDS-managed secret,
# CHANGECAST_DATABASE_SECRET_ID). Terraform creates it empty so no secret value ever sits in the
# state; the operator writes the value (docs/runbooks/secret-rotation.md). Processes read it
# through CHANGECAST_SECRETS_ID.
resource "aws_secretsmanager_secret" "runtime" {
  #checkov:skip=CKV2_AWS_57:The session secret and SAML keys are rotated by the runbook (docs/runbooks/secret-rotation.md); a rotation Lambda cannot re-key the IdP side.
  name                    = "${local.prefix}/runtime"
  description             = "changecast runtime secrets: session secret, link secret, SAML IdP certificate"
  kms_key_id              = aws_kms_key.hub.arn
  recovery_window_in_days = 30
  tags                    = local.tags
}
