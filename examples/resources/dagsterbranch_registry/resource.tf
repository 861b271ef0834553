# An ECR repository for branch-deployment images, with a CI user that can only push to it.
resource "dagsterbranch_registry" "images" {
  name = "dagster/data-platform"

  lifecycle_policy {
    expire_untagged_after_days = 7
    keep_last_images           = 500
  }

  tags = {
    team = "data-platform"
  }
}

# The image reference a code location uses: the repository URL and the commit as tag.
output "image_repository" {
  value = dagsterbranch_registry.images.repository_url
}

# What CI needs to push images: store these as secrets in GitHub or GitLab.
output "ci_secrets" {
  value     = dagsterbranch_registry.images.ci_secrets
  sensitive = true
}
