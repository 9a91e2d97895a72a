# expect: data aws_regionz.r: unknown data source type "aws_regionz"
# expect: reference "data.aws_caller_identity.me.account": aws_caller_identity has no attribute "account" (did you mean "account_id"?)
# expect: aws_batch_compute_environment.c: lifecycle.ignore_changes: no argument "compute_resources.desired_vcpu"
data "aws_regionz" "r" {}
data "aws_caller_identity" "me" {}
resource "aws_batch_compute_environment" "c" {
  name = "c-${data.aws_caller_identity.me.account}"
  type = "UNMANAGED"
  lifecycle {
    ignore_changes = [compute_resources[0].desired_vcpu]
  }
}
