# The image a code location runs: the registry's repository URL with the commit as tag, or with a digest.
# A malformed URL, tag or digest fails the plan naming the argument.
locals {
  repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dagster/data-platform"
}

output "by_tag" {
  value = provider::dagsterbranch::image_reference(local.repository_url, "4f2a1c9")
}

output "by_digest" {
  value = provider::dagsterbranch::image_reference(
    local.repository_url,
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  )
}
