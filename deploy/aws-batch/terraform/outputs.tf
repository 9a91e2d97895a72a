# What deploy.sh and the frontend need after apply (`deploy.sh outputs`).

output "api_endpoint" {
  description = "Base URL of the render API (POST /render, GET /render/status?job_id=...)."
  value       = aws_apigatewayv2_api.main.api_endpoint
}

output "ecr_repository_url" {
  description = "Where deploy.sh build pushes the images (tags cpu and gpu)."
  value       = aws_ecr_repository.engine.repository_url
}

output "region" {
  description = "Region of the stack."
  value       = local.region
}

output "bucket" {
  description = "S3 bucket of the rendered videos (HC_STORAGE=s3://<bucket>)."
  value       = aws_s3_bucket.renders.bucket
}

output "table" {
  description = "DynamoDB jobs table (HC_STORE=dynamodb:<table>)."
  value       = aws_dynamodb_table.jobs.name
}

output "gpu_queue" {
  description = "Batch job queue of the GPU spot pool (HC_BATCH_QUEUE_GPU)."
  value       = aws_batch_job_queue.gpu.name
}

output "cpu_queue" {
  description = "Batch job queue of the CPU spot pool (HC_BATCH_QUEUE_CPU)."
  value       = aws_batch_job_queue.cpu.name
}

output "gpu_job_definition" {
  description = "Job definition of GPU renders (HC_BATCH_JOBDEF_GPU)."
  value       = aws_batch_job_definition.gpu.arn
}

output "cpu_job_definition" {
  description = "Job definition of CPU renders (HC_BATCH_JOBDEF_CPU)."
  value       = aws_batch_job_definition.cpu.arn
}

output "gpu_compute_environment" {
  description = "Name of the GPU compute environment (for aws batch describe-compute-environments)."
  value       = aws_batch_compute_environment.gpu.name
}

output "cpu_compute_environment" {
  description = "Name of the CPU compute environment."
  value       = aws_batch_compute_environment.cpu.name
}

output "secret_name" {
  description = "Secrets Manager secret to fill with put-secret-value (SECRETS_NAME)."
  value       = aws_secretsmanager_secret.engine.name
}

output "api_function" {
  description = "Lambda function serving the API (logs: /aws/lambda/<name>)."
  value       = aws_lambda_function.api.function_name
}

output "reconciler_function" {
  description = "Lambda function run every minute by EventBridge."
  value       = aws_lambda_function.reconciler.function_name
}

output "batch_log_group" {
  description = "CloudWatch log group of the Batch jobs."
  value       = aws_cloudwatch_log_group.batch.name
}
