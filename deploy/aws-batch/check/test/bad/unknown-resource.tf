# expect: aws_batch_compute_env.c: unknown resource type "aws_batch_compute_env"
resource "aws_batch_compute_env" "c" {
  type = "MANAGED"
}
