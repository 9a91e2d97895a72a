# The secret whose keys the workers and the API functions export to their
# environment at start (SECRETS_NAME; DESIGN.md section 10). Values equal to
# REPLACE_ME are skipped by the engine, so a fresh stack runs without any of
# them; fill in the ones you use with `aws secretsmanager put-secret-value`
# (DEPLOY.md, "Configure secrets"). Terraform writes the placeholders once and
# never overwrites what you put there.

resource "aws_secretsmanager_secret" "engine" {
  name                    = var.secret_name
  description             = "Hydra Compose Engine keys: CALLBACK_SECRET (callback HMAC) and the original engine's API keys"
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "placeholder" {
  secret_id = aws_secretsmanager_secret.engine.id
  secret_string = jsonencode({
    OPENAI_API_KEY  = "REPLACE_ME"
    GEMINI_API_KEY  = "REPLACE_ME"
    SUPABASE_URL    = "REPLACE_ME"
    SUPABASE_KEY    = "REPLACE_ME"
    REDIS_URL       = "REPLACE_ME"
    CALLBACK_SECRET = "REPLACE_ME"
  })
  lifecycle {
    ignore_changes = [secret_string]
  }
}
