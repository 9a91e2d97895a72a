# expect: aws_batch_job_definition.j.retry_strategy: unknown nested block "evaluate_on_exits"
resource "aws_batch_job_definition" "j" {
  name = "j"
  type = "container"
  retry_strategy {
    attempts = 3
    evaluate_on_exits {
      action = "RETRY"
    }
  }
}
