# expect: aws_batch_job_definition.j.retry_strategy.evaluate_on_exit: missing required argument "action"
resource "aws_batch_job_definition" "j" {
  name = "j"
  type = "container"
  retry_strategy {
    attempts = 3
    evaluate_on_exit {
      on_exit_code = "3"
    }
  }
}
