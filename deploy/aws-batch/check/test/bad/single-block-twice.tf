# expect: aws_batch_job_definition.j: block "timeout" may appear only once (found 2)
resource "aws_batch_job_definition" "j" {
  name = "j"
  type = "container"
  timeout {
    attempt_duration_seconds = 60
  }
  timeout {
    attempt_duration_seconds = 90
  }
}
