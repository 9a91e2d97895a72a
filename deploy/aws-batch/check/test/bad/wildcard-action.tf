# expect: data aws_iam_policy_document.p: statement "All" grants the wildcard action "dynamodb:*"
# expect: aws_iam_role_policy.inline: policy must be data.aws_iam_policy_document.<name>.json
data "aws_iam_policy_document" "p" {
  statement {
    sid       = "All"
    actions   = ["dynamodb:*"]
    resources = ["arn:aws:dynamodb:us-east-1:123456789012:table/t"]
  }
}
resource "aws_iam_role_policy" "inline" {
  role   = "r"
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })
}
