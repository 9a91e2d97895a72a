# Core infrastructure of the Hydra Compose Engine on AWS: network, image
# registry, output bucket, jobs table, log groups.
#
# Invariant: nothing here costs money while no job runs except storage. The
# VPC has only public subnets (instances get public addresses and reach ECR,
# Batch and CloudWatch directly); S3 and DynamoDB traffic stays on gateway
# endpoints (free). No NAT gateway, no interface endpoints.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      Project   = "hydra-compose-engine"
      ManagedBy = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  azs        = slice(data.aws_availability_zones.available.names, 0, var.az_count)
  bucket     = var.bucket_name != "" ? var.bucket_name : "${var.name}-renders-${local.account_id}-${local.region}"
  batch_log  = "/aws/batch/hydra-compose-engine"
}

# ---- network -----------------------------------------------------------

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = var.name }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = var.name }
}

resource "aws_subnet" "public" {
  count                   = length(local.azs)
  vpc_id                  = aws_vpc.main.id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, 4, count.index)
  map_public_ip_on_launch = true
  tags                    = { Name = "${var.name}-public-${local.azs[count.index]}" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "${var.name}-public" }
}

resource "aws_route" "internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.main.id
}

resource "aws_route_table_association" "public" {
  count          = length(aws_subnet.public)
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# Gateway endpoints: free, and keep the S3 and DynamoDB traffic of the
# workers off the internet.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.public.id]
  tags              = { Name = "${var.name}-s3" }
}

resource "aws_vpc_endpoint" "dynamodb" {
  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.${local.region}.dynamodb"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.public.id]
  tags              = { Name = "${var.name}-dynamodb" }
}

# Batch instances accept no inbound traffic; they call out only.
resource "aws_security_group" "batch" {
  name_prefix = "${var.name}-batch-"
  description = "Hydra Compose Batch instances: no inbound, all outbound"
  vpc_id      = aws_vpc.main.id
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "batch_all" {
  security_group_id = aws_security_group.batch.id
  description       = "ECR, Batch, CloudWatch, S3, DynamoDB, Secrets Manager, input image hosts, callbacks"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

# ---- images --------------------------------------------------------------

resource "aws_ecr_repository" "engine" {
  name                 = "hydra-compose-engine"
  image_tag_mutability = "MUTABLE"
  force_delete         = var.force_destroy
  image_scanning_configuration {
    scan_on_push = true
  }
}

# Tags "cpu" and "gpu" are moved by every build; "cpu-<rev>" and "gpu-<rev>"
# keep a few builds to roll back to; untagged layers go after a day.
resource "aws_ecr_lifecycle_policy" "engine" {
  repository = aws_ecr_repository.engine.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "untagged images after 1 day"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 1 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "keep the last 5 CPU builds"
        selection    = { tagStatus = "tagged", tagPrefixList = ["cpu-"], countType = "imageCountMoreThan", countNumber = 5 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "keep the last 5 GPU builds"
        selection    = { tagStatus = "tagged", tagPrefixList = ["gpu-"], countType = "imageCountMoreThan", countNumber = 5 }
        action       = { type = "expire" }
      },
    ]
  })
}

# Lambda pulls the CPU image for the API and reconciler functions.
data "aws_iam_policy_document" "ecr_lambda_pull" {
  statement {
    sid     = "LambdaPull"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "aws:sourceArn"
      values   = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name}-*"]
    }
  }
}

resource "aws_ecr_repository_policy" "engine" {
  repository = aws_ecr_repository.engine.name
  policy     = data.aws_iam_policy_document.ecr_lambda_pull.json
}

# ---- outputs bucket ------------------------------------------------------

resource "aws_s3_bucket" "renders" {
  bucket        = local.bucket
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_public_access_block" "renders" {
  bucket                  = aws_s3_bucket.renders.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "renders" {
  bucket = aws_s3_bucket.renders.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "renders" {
  bucket = aws_s3_bucket.renders.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "renders" {
  bucket = aws_s3_bucket.renders.id
  rule {
    id     = "expire-renders"
    status = "Enabled"
    filter {
      prefix = ""
    }
    expiration {
      days = var.output_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# ---- jobs table (DESIGN.md section 11) ----------------------------------

resource "aws_dynamodb_table" "jobs" {
  name         = var.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "job_id"

  attribute {
    name = "job_id"
    type = "S"
  }
  attribute {
    name = "status"
    type = "S"
  }
  attribute {
    name = "created_ms"
    type = "N"
  }

  global_secondary_index {
    name            = "status-created"
    hash_key        = "status"
    range_key       = "created_ms"
    projection_type = "ALL"
  }

  # Written by the store: 30 days after the final state (epoch seconds).
  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = false
  }
}

# ---- logs ----------------------------------------------------------------

resource "aws_cloudwatch_log_group" "batch" {
  name              = local.batch_log
  retention_in_days = var.log_retention_days
}
