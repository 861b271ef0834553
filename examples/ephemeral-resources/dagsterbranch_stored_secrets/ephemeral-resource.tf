# The registry's CI secrets kept out of state: written to Secrets Manager only.
resource "dagsterbranch_registry" "images" {
  name                  = "dagster/data-platform"
  store_secret_in_state = false

  secret_store {
    type = "secretsmanager"
    name = "ci/dagster-data-platform"
  }
}

# The stored values read back in every plan and apply, never written to state or plan files. Naming the
# store by the registry's `secret_store_arn` makes Terraform wait until the store exists. Here the values set
# the repository secrets of a GitHub repository with the GitHub CLI; the same map fits write-only arguments
# of other providers.
ephemeral "dagsterbranch_stored_secrets" "ci" {
  type = "secretsmanager"
  name = dagsterbranch_registry.images.secret_store_arn
}

resource "terraform_data" "github_secrets" {
  triggers_replace = [dagsterbranch_registry.images.secret_store_version]

  provisioner "local-exec" {
    command = "for name in AWS_ACCESS_KEY AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION DAGSTER_CLOUD_URL; do printenv \"$name\" | gh secret set \"$name\"; done"
    environment = ephemeral.dagsterbranch_stored_secrets.ci.values
  }
}
