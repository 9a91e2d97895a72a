# The HTTP API: API Gateway (HTTP API, payload 2.0) -> `hydra-compose lambda`
# from the CPU image, and the same image and command run every minute by
# EventBridge as the reconciler (stale jobs, the GPU->CPU move, pending
# callbacks). The engine tells the two kinds of event apart; two functions
# keep their logs, timeouts and concurrency apart.
#
# Invariants: the routes are those of `hydra-compose serve` that the API
# serves (DESIGN.md sections 2-3); CORS, including the OPTIONS preflight, is
# answered by API Gateway and never reaches the function; the functions may
# touch only the jobs table, the bucket, the secret, their own log groups and
# the two queues with their job definitions.

locals {
  api_function        = "${var.name}-api"
  reconciler_function = "${var.name}-reconciler"
  # Same meaning as for `serve` (DESIGN.md section 10). AWS_REGION is set by
  # Lambda itself (and may not be set here).
  lambda_env = {
    # Only /tmp is writable in a Lambda container (the image's /data is not,
    # for Lambda's own user): `lambda` makes its data directory at start.
    HC_DATA_DIR         = "/tmp/hydra-data"
    HC_STORE            = "dynamodb:${aws_dynamodb_table.jobs.name}"
    HC_STORAGE          = "s3://${aws_s3_bucket.renders.bucket}"
    HC_EXECUTOR         = "aws-batch"
    HC_BATCH_QUEUE_GPU  = aws_batch_job_queue.gpu.name
    HC_BATCH_QUEUE_CPU  = aws_batch_job_queue.cpu.name
    HC_BATCH_JOBDEF_GPU = aws_batch_job_definition.gpu.arn
    HC_BATCH_JOBDEF_CPU = aws_batch_job_definition.cpu.arn
    HC_GPU_WAIT_S       = tostring(var.gpu_wait_s)
    HC_PRESIGN_TTL_S    = tostring(var.presign_ttl_s)
    HC_JOB_TIMEOUT_S    = tostring(var.job_timeout_s)
    HC_LOG_LEVEL        = var.log_level
    SECRETS_NAME        = aws_secretsmanager_secret.engine.name
  }
  api_routes = [
    "POST /render",
    "GET /render/status",
    "GET /render/{id}",
    "DELETE /render/{id}",
    "GET /jobs",
    "GET /healthz",
  ]
}

# ---- logs ---------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "api" {
  name              = "/aws/lambda/${local.api_function}"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "reconciler" {
  name              = "/aws/lambda/${local.reconciler_function}"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${var.name}-api"
  retention_in_days = var.log_retention_days
}

# ---- role -------------------------------------------------------------------------

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name_prefix        = "${var.name}-lambda-"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.api.arn}:*", "${aws_cloudwatch_log_group.reconciler.arn}:*"]
  }
  statement {
    sid = "JobsTable"
    # DescribeTable: the store checks the table when it opens.
    actions = [
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:Query",
    ]
    resources = [aws_dynamodb_table.jobs.arn, "${aws_dynamodb_table.jobs.arn}/index/status-created"]
  }
  # SubmitJob is authorised against both the queue and the job definition.
  statement {
    sid     = "Submit"
    actions = ["batch:SubmitJob"]
    resources = [
      aws_batch_job_queue.gpu.arn,
      aws_batch_job_queue.cpu.arn,
      aws_batch_job_definition.gpu.arn_prefix,
      "${aws_batch_job_definition.gpu.arn_prefix}:*",
      aws_batch_job_definition.cpu.arn_prefix,
      "${aws_batch_job_definition.cpu.arn_prefix}:*",
    ]
  }
  statement {
    sid       = "Terminate"
    actions   = ["batch:TerminateJob"]
    resources = ["arn:${local.partition}:batch:${local.region}:${local.account_id}:job/*"]
  }
  # The reconciler's probe; DescribeJobs has no resource-level permissions.
  statement {
    sid       = "Describe"
    actions   = ["batch:DescribeJobs"]
    resources = ["*"]
  }
  # Presigned output URLs are signed with these credentials, so they need
  # GetObject; PutObject/DeleteObject for uploads and DELETE /render/{id}.
  statement {
    sid       = "Outputs"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.renders.arn}/*"]
  }
  # A missing object is a 404 (not a 403) only with ListBucket.
  statement {
    sid       = "OutputsList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.renders.arn]
  }
  statement {
    sid       = "Secret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.engine.arn]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "api"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

# ---- functions ------------------------------------------------------------------------

# The image must be in ECR before these are created: `deploy.sh apply`
# creates the repository and builds the images first when they are missing.
resource "aws_lambda_function" "api" {
  function_name = local.api_function
  description   = "Hydra Compose Engine HTTP API (hydra-compose lambda)"
  role          = aws_iam_role.lambda.arn
  package_type  = "Image"
  image_uri     = "${aws_ecr_repository.engine.repository_url}:cpu"
  architectures = ["x86_64"]
  memory_size   = var.api_memory_mb
  timeout       = 29
  image_config {
    command = ["lambda"]
  }
  environment {
    variables = local.lambda_env
  }
  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.api.name
  }
  depends_on = [aws_iam_role_policy.lambda, aws_ecr_repository_policy.engine]
}

resource "aws_lambda_function" "reconciler" {
  function_name                  = local.reconciler_function
  description                    = "Hydra Compose Engine reconciler: stale jobs, GPU to CPU moves, pending callbacks (every minute)"
  role                           = aws_iam_role.lambda.arn
  package_type                   = "Image"
  image_uri                      = "${aws_ecr_repository.engine.repository_url}:cpu"
  architectures                  = ["x86_64"]
  memory_size                    = 256
  timeout                        = 55
  reserved_concurrent_executions = var.reconciler_reserved_concurrency
  image_config {
    command = ["lambda"]
  }
  environment {
    variables = local.lambda_env
  }
  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.reconciler.name
  }
  depends_on = [aws_iam_role_policy.lambda, aws_ecr_repository_policy.engine]
}

# ---- schedule ---------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "reconcile" {
  name                = "${var.name}-reconcile"
  description         = "Runs the Hydra Compose reconciler every minute"
  schedule_expression = "rate(1 minute)"
}

resource "aws_cloudwatch_event_target" "reconcile" {
  rule      = aws_cloudwatch_event_rule.reconcile.name
  target_id = "reconciler"
  arn       = aws_lambda_function.reconciler.arn
}

resource "aws_lambda_permission" "events" {
  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.reconciler.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.reconcile.arn
}

# ---- HTTP API -----------------------------------------------------------------------------

resource "aws_apigatewayv2_api" "main" {
  name          = "${var.name}-api"
  protocol_type = "HTTP"
  description   = "Hydra Compose Engine render API"
  cors_configuration {
    allow_origins = var.cors_allow_origins
    allow_methods = ["GET", "POST", "DELETE", "OPTIONS"]
    allow_headers = ["content-type", "authorization", "x-api-key"]
    max_age       = 3600
  }
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.main.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.api.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "api" {
  for_each  = toset(local.api_routes)
  api_id    = aws_apigatewayv2_api.main.id
  route_key = each.value
  target    = "integrations/${aws_apigatewayv2_integration.api.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.main.id
  name        = "$default"
  auto_deploy = true
  default_route_settings {
    throttling_burst_limit = var.api_throttle_burst
    throttling_rate_limit  = var.api_throttle_rate
  }
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId = "$context.requestId"
      ip        = "$context.identity.sourceIp"
      time      = "$context.requestTime"
      method    = "$context.httpMethod"
      path      = "$context.path"
      status    = "$context.status"
      latencyMs = "$context.responseLatency"
      error     = "$context.integrationErrorMessage"
    })
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.main.execution_arn}/*/*"
}
