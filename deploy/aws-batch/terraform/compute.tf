# AWS Batch: two spot pools (GPU with NVENC, CPU with libx264), a queue each,
# a job definition each, and the IAM roles the instances and containers run
# with.
#
# Invariants:
#   - both pools scale to zero (min_vcpus = the warm-pool variables, 0 by
#     default) and draw from several instance types with
#     SPOT_PRICE_CAPACITY_OPTIMIZED;
#   - a compute environment is replaced by creating its successor first
#     (name_prefix + create_before_destroy): the queue moves to the new one and
#     only then is the old one deleted, so a change of instance types never
#     fails with "Cannot delete, found existing JobQueue relationship";
#   - a job definition asks for less memory than ECS registers on the
#     smallest instance type of its pool (variables.tf), else jobs wait in
#     RUNNABLE forever;
#   - the retry strategy retries spot reclaims ("Host EC2*") and the engine's
#     transient exit code 3 (DESIGN.md section 12) and nothing else; a timeout
#     is not retried;
#   - no IAM statement grants a wildcard action; resources are the table, the
#     bucket, the secret, the repository, the log group and the queues, and
#     "*" only for the few read-only calls that have no resource level
#     (ecr:GetAuthorizationToken, ecs:DiscoverPollEndpoint, ec2:DescribeTags).
#
# The Batch service itself uses its service-linked role
# (AWSServiceRoleForBatch, created by AWS on first use): no service_role and no
# spot fleet role are needed with SPOT_PRICE_CAPACITY_OPTIMIZED.

locals {
  ecr_arn       = aws_ecr_repository.engine.arn
  batch_log_arn = aws_cloudwatch_log_group.batch.arn
  # ECS clusters Batch creates are named "<compute environment>_Batch_<id>".
  ecs_cluster_arns = [
    "arn:${local.partition}:ecs:${local.region}:${local.account_id}:cluster/${var.name}-*",
    "arn:${local.partition}:ecs:${local.region}:${local.account_id}:container-instance/${var.name}-*",
  ]
  # What both containers find in their environment (DESIGN.md section 10).
  worker_env = [
    { name = "HC_STORE", value = "dynamodb:${aws_dynamodb_table.jobs.name}" },
    { name = "HC_STORAGE", value = "s3://${aws_s3_bucket.renders.bucket}" },
    { name = "SECRETS_NAME", value = aws_secretsmanager_secret.engine.name },
    { name = "AWS_REGION", value = local.region },
    { name = "HC_JOB_TIMEOUT_S", value = tostring(var.job_timeout_s) },
    { name = "HC_LOG_LEVEL", value = var.log_level },
  ]
}

# ---- roles ------------------------------------------------------------------

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "assume_ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# The instances: the ECS agent registers with the Batch-made cluster and
# reports container states (the actions of AmazonEC2ContainerServiceforEC2Role,
# spelled out instead of its "ecs:Submit*").
resource "aws_iam_role" "instance" {
  name_prefix        = "${var.name}-instance-"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
}

data "aws_iam_policy_document" "instance" {
  statement {
    sid = "EcsAgent"
    actions = [
      "ecs:RegisterContainerInstance",
      "ecs:DeregisterContainerInstance",
      "ecs:UpdateContainerInstancesState",
      "ecs:Poll",
      "ecs:StartTelemetrySession",
      "ecs:SubmitAttachmentStateChanges",
      "ecs:SubmitContainerStateChange",
      "ecs:SubmitTaskStateChange",
      "ecs:TagResource",
    ]
    resources = local.ecs_cluster_arns
  }
  statement {
    sid       = "NoResourceLevel"
    actions   = ["ecs:DiscoverPollEndpoint", "ec2:DescribeTags", "ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid       = "PullEngineImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [local.ecr_arn]
  }
  statement {
    sid       = "JobLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.batch_log_arn}:*"]
  }
}

resource "aws_iam_role_policy" "instance" {
  name   = "ecs-agent"
  role   = aws_iam_role.instance.id
  policy = data.aws_iam_policy_document.instance.json
}

resource "aws_iam_instance_profile" "instance" {
  name_prefix = "${var.name}-instance-"
  role        = aws_iam_role.instance.name
}

# The containers' execution role: the image pull and the awslogs driver.
resource "aws_iam_role" "execution" {
  name_prefix        = "${var.name}-exec-"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "RegistryToken"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid       = "PullEngineImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [local.ecr_arn]
  }
  statement {
    sid       = "JobLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.batch_log_arn}:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-and-log"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# The worker itself (`hydra-compose worker`): its job item, the outputs, the
# secret. Nothing else.
resource "aws_iam_role" "job" {
  name_prefix        = "${var.name}-job-"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

data "aws_iam_policy_document" "job" {
  statement {
    sid       = "JobsTable"
    # DescribeTable: the store checks the table when it opens.
    actions   = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.jobs.arn, "${aws_dynamodb_table.jobs.arn}/index/status-created"]
  }
  statement {
    sid = "Outputs"
    actions = [
      "s3:PutObject",
      "s3:GetObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = concat(["${aws_s3_bucket.renders.arn}/*"], [for b in var.extra_output_bucket_arns : "${b}/*"])
  }
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

resource "aws_iam_role_policy" "job" {
  name   = "worker"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.job.json
}

# ---- compute environments -----------------------------------------------------

resource "aws_batch_compute_environment" "gpu" {
  name_prefix = "${var.name}-gpu-spot-"
  type        = "MANAGED"
  state       = "ENABLED"

  compute_resources {
    type                = "SPOT"
    allocation_strategy = "SPOT_PRICE_CAPACITY_OPTIMIZED"
    instance_type       = var.gpu_instance_types
    min_vcpus           = var.gpu_warm_vcpus
    max_vcpus           = var.gpu_max_vcpus
    subnets             = aws_subnet.public[*].id
    security_group_ids  = [aws_security_group.batch.id]
    instance_role       = aws_iam_instance_profile.instance.arn
    # Amazon Linux 2023 with the NVIDIA driver and container toolkit: without
    # it the GPU is not visible in the container and NVENC is missing.
    ec2_configuration {
      image_type = "ECS_AL2023_NVIDIA"
    }
    tags = { Name = "${var.name}-gpu" }
  }

  lifecycle {
    create_before_destroy = true
    # Batch moves desired_vcpus itself.
    ignore_changes = [compute_resources[0].desired_vcpus]
  }

  depends_on = [aws_iam_role_policy.instance, aws_route.internet, aws_route_table_association.public]
}

resource "aws_batch_compute_environment" "cpu" {
  name_prefix = "${var.name}-cpu-spot-"
  type        = "MANAGED"
  state       = "ENABLED"

  compute_resources {
    type                = "SPOT"
    allocation_strategy = "SPOT_PRICE_CAPACITY_OPTIMIZED"
    instance_type       = var.cpu_instance_types
    min_vcpus           = var.cpu_warm_vcpus
    max_vcpus           = var.cpu_max_vcpus
    subnets             = aws_subnet.public[*].id
    security_group_ids  = [aws_security_group.batch.id]
    instance_role       = aws_iam_instance_profile.instance.arn
    ec2_configuration {
      image_type = "ECS_AL2023"
    }
    tags = { Name = "${var.name}-cpu" }
  }

  lifecycle {
    create_before_destroy = true
    ignore_changes        = [compute_resources[0].desired_vcpus]
  }

  depends_on = [aws_iam_role_policy.instance, aws_route.internet, aws_route_table_association.public]
}

# ---- queues -------------------------------------------------------------------

resource "aws_batch_job_queue" "gpu" {
  name     = "${var.name}-gpu-queue"
  state    = "ENABLED"
  priority = 1
  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.gpu.arn
  }
  # A job that can never fit an instance of the pool fails after 10 minutes
  # instead of waiting in RUNNABLE forever.
  job_state_time_limit_action {
    action           = "CANCEL"
    state            = "RUNNABLE"
    reason           = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
    max_time_seconds = 600
  }
}

resource "aws_batch_job_queue" "cpu" {
  name     = "${var.name}-cpu-queue"
  state    = "ENABLED"
  priority = 1
  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.cpu.arn
  }
  job_state_time_limit_action {
    action           = "CANCEL"
    state            = "RUNNABLE"
    reason           = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
    max_time_seconds = 600
  }
}

# ---- job definitions ------------------------------------------------------------

resource "aws_batch_job_definition" "gpu" {
  name                  = "${var.name}-gpu"
  type                  = "container"
  platform_capabilities = ["EC2"]
  propagate_tags        = true

  container_properties = jsonencode({
    image            = "${aws_ecr_repository.engine.repository_url}:gpu"
    command          = ["worker"]
    jobRoleArn       = aws_iam_role.job.arn
    executionRoleArn = aws_iam_role.execution.arn
    resourceRequirements = [
      { type = "VCPU", value = tostring(var.gpu_job_vcpus) },
      { type = "MEMORY", value = tostring(var.gpu_job_memory_mib) },
      { type = "GPU", value = "1" },
    ]
    environment = concat(local.worker_env, [
      { name = "USE_NVENC", value = "1" },
      # Without "video" the NVIDIA runtime does not mount libnvidia-encode
      # and h264_nvenc fails to open.
      { name = "NVIDIA_DRIVER_CAPABILITIES", value = "compute,video,utility" },
    ])
    linuxParameters = { initProcessEnabled = true }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.batch.name
        "awslogs-region"        = local.region
        "awslogs-stream-prefix" = "gpu"
      }
    }
  })

  retry_strategy {
    attempts = 3
    evaluate_on_exit {
      on_status_reason = "Host EC2*"
      action           = "RETRY"
    }
    evaluate_on_exit {
      on_exit_code = "3"
      action       = "RETRY"
    }
    evaluate_on_exit {
      on_reason = "*"
      action    = "EXIT"
    }
  }

  timeout {
    attempt_duration_seconds = var.job_timeout_s
  }
}

resource "aws_batch_job_definition" "cpu" {
  name                  = "${var.name}-cpu"
  type                  = "container"
  platform_capabilities = ["EC2"]
  propagate_tags        = true

  container_properties = jsonencode({
    image            = "${aws_ecr_repository.engine.repository_url}:cpu"
    command          = ["worker"]
    jobRoleArn       = aws_iam_role.job.arn
    executionRoleArn = aws_iam_role.execution.arn
    resourceRequirements = [
      { type = "VCPU", value = tostring(var.cpu_job_vcpus) },
      { type = "MEMORY", value = tostring(var.cpu_job_memory_mib) },
    ]
    environment     = concat(local.worker_env, [{ name = "USE_NVENC", value = "0" }])
    linuxParameters = { initProcessEnabled = true }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.batch.name
        "awslogs-region"        = local.region
        "awslogs-stream-prefix" = "cpu"
      }
    }
  })

  retry_strategy {
    attempts = 3
    evaluate_on_exit {
      on_status_reason = "Host EC2*"
      action           = "RETRY"
    }
    evaluate_on_exit {
      on_exit_code = "3"
      action       = "RETRY"
    }
    evaluate_on_exit {
      on_reason = "*"
      action    = "EXIT"
    }
  }

  timeout {
    attempt_duration_seconds = var.job_timeout_s
  }
}
