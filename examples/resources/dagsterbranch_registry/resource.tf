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

# The same for another repository, with the CI secrets written to AWS Secrets Manager (as one JSON object) and
# kept out of Terraform's state: state holds only the secret's ARN, version and a SHA-256 fingerprint. CI reads
# the secret with its own AWS role; `type = "ssm"` with a name such as `/ci/dagster-ml` writes an SSM
# SecureString parameter instead.
resource "dagsterbranch_registry" "ml" {
  name                  = "dagster/ml"
  store_secret_in_state = false

  secret_store {
    type = "secretsmanager"
    name = "ci/dagster-ml-registry"
  }
}

output "ml_ci_secrets_arn" {
  value = dagsterbranch_registry.ml.secret_store_arn
}
