# Configuration of the AWS deployment. Every value has a default that gives a
# working stack that costs nothing while idle (no warm instances, no NAT
# gateway); override in terraform.tfvars or with -var.

variable "region" {
  description = "AWS region to deploy into (the seed guide's example is Sydney)."
  type        = string
  default     = "ap-southeast-2"
}

variable "name" {
  description = "Prefix of every resource name (queues, job definitions, functions, roles, log groups)."
  type        = string
  default     = "hydra-compose"
}

variable "table_name" {
  description = "DynamoDB jobs table (DESIGN.md section 11; the workers and the API get it as HC_STORE=dynamodb:<table>)."
  type        = string
  default     = "hydra-compose-jobs"
}

variable "bucket_name" {
  description = "S3 bucket for rendered videos and posters; empty = <name>-renders-<account id>-<region> (bucket names are global)."
  type        = string
  default     = ""
}

variable "extra_output_bucket_arns" {
  description = "ARNs of other buckets that requests may name in output.s3_bucket; the workers may write there (objects only). Empty = only the stack's own bucket."
  type        = list(string)
  default     = []
}

variable "secret_name" {
  description = "Secrets Manager secret whose keys the workers and the API export to their environment (SECRETS_NAME)."
  type        = string
  default     = "hydra/compose-engine"
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can be restored; 0 deletes at once so that destroy followed by apply can reuse the name."
  type        = number
  default     = 0
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; the public subnets are carved from it (one /20 per availability zone)."
  type        = string
  default     = "10.42.0.0/16"
}

variable "az_count" {
  description = "Number of availability zones with a public subnet (at least 2: more zones = more spot pools to draw from)."
  type        = number
  default     = 3
  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6
    error_message = "az_count must be between 2 and 6."
  }
}

variable "gpu_instance_types" {
  description = "Spot instance types of the GPU pool (NVENC: NVIDIA T4 on g4dn, A10G on g5)."
  type        = list(string)
  default     = ["g4dn.xlarge", "g4dn.2xlarge", "g5.xlarge", "g5.2xlarge"]
}

variable "cpu_instance_types" {
  description = "Spot instance types of the CPU pool (libx264)."
  type        = list(string)
  default     = ["c5.xlarge", "c5.2xlarge", "c6i.xlarge", "c6i.2xlarge", "c7i.xlarge", "c7i.2xlarge", "m5.xlarge", "m5.2xlarge"]
}

# Increase max concurrent GPU renders: 64 vCPUs = 16 x g4dn.xlarge.
variable "gpu_max_vcpus" {
  description = "Upper bound of the GPU pool in vCPUs (16 x g4dn.xlarge = 64). Spot quota for G instances must allow it."
  type        = number
  default     = 64
}

# Increase max concurrent CPU renders.
variable "cpu_max_vcpus" {
  description = "Upper bound of the CPU pool in vCPUs (8 x c5.xlarge = 32)."
  type        = number
  default     = 32
}

variable "gpu_warm_vcpus" {
  description = "vCPUs of the GPU pool kept running while idle (warm pool, cuts the instance start from a job's latency; costs money). 0 = scale to zero."
  type        = number
  default     = 0
}

variable "cpu_warm_vcpus" {
  description = "vCPUs of the CPU pool kept running while idle (warm pool; costs money). 0 = scale to zero."
  type        = number
  default     = 0
}

variable "gpu_job_vcpus" {
  description = "vCPUs one GPU render asks for (g4dn.xlarge and g5.xlarge have 4)."
  type        = number
  default     = 4
}

variable "gpu_job_memory_mib" {
  description = "Memory in MiB one GPU render asks for. Must stay below what ECS registers on the smallest GPU type (a 16 GiB g4dn.xlarge/g5.xlarge registers about 15.3 GiB), else jobs stay RUNNABLE forever."
  type        = number
  default     = 14336
  validation {
    condition     = var.gpu_job_memory_mib >= 1024 && var.gpu_job_memory_mib <= 15360
    error_message = "gpu_job_memory_mib must be 1024..15360 to fit a 16 GiB GPU instance."
  }
}

variable "cpu_job_vcpus" {
  description = "vCPUs one CPU render asks for (c5.xlarge and the other xlarge types have 4)."
  type        = number
  default     = 4
}

variable "cpu_job_memory_mib" {
  description = "Memory in MiB one CPU render asks for. Must stay below what ECS registers on the smallest CPU type (an 8 GiB c5.xlarge registers about 7.4 GiB), else jobs stay RUNNABLE forever."
  type        = number
  default     = 7168
  validation {
    condition     = var.cpu_job_memory_mib >= 512 && var.cpu_job_memory_mib <= 7424
    error_message = "cpu_job_memory_mib must be 512..7424 to fit an 8 GiB CPU instance."
  }
}

variable "job_timeout_s" {
  description = "Batch kills an attempt running longer (attempt_duration_seconds; not retried). Matches HC_JOB_TIMEOUT_S."
  type        = number
  default     = 900
  validation {
    condition     = var.job_timeout_s >= 60
    error_message = "job_timeout_s must be at least 60 (Batch's minimum)."
  }
}

variable "gpu_wait_s" {
  description = "HC_GPU_WAIT_S: a job with hardware auto queued on the GPU pool and not started by then moves to the CPU pool."
  type        = number
  default     = 120
}

variable "presign_ttl_s" {
  description = "HC_PRESIGN_TTL_S: lifetime in seconds of the presigned output_url that status reads return."
  type        = number
  default     = 3600
}

variable "output_retention_days" {
  description = "Rendered videos and posters are deleted from the bucket after this many days (the job items' ttl is 30 days)."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group (Batch jobs, Lambda functions, API access log)."
  type        = number
  default     = 14
}

variable "log_level" {
  description = "HC_LOG_LEVEL of the workers and the functions: debug, info, warn or error."
  type        = string
  default     = "info"
  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "api_memory_mb" {
  description = "Memory of the API function (also sets its CPU share)."
  type        = number
  default     = 512
}

variable "reconciler_reserved_concurrency" {
  description = "Reserved concurrency of the reconciler function; -1 = none (new accounts cannot reserve any). 1 keeps runs from overlapping."
  type        = number
  default     = -1
}

variable "cors_allow_origins" {
  description = "Origins the browser may call the API from (API Gateway answers OPTIONS); [\"*\"] for any."
  type        = list(string)
  default     = ["*"]
}

variable "force_destroy" {
  description = "Let destroy delete a non-empty bucket and ECR repository (the seed guide's destroy removes everything)."
  type        = bool
  default     = true
}

variable "api_throttle_rate" {
  description = "Steady requests per second the API accepts before answering 429 (API Gateway stage throttling)."
  type        = number
  default     = 50
}

variable "api_throttle_burst" {
  description = "Burst of requests the API accepts above the steady rate."
  type        = number
  default     = 100
}
