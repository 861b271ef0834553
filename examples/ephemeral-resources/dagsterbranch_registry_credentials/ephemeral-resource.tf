# An image registry with its push-only CI user.
resource "dagsterbranch_registry" "images" {
  name = "dagster/data-platform"
}

# A registry login as that CI user, for example to push a first image from Terraform. Terraform obtains it in
# every plan and apply (once the key exists) and never stores the password in state or plan files.
ephemeral "dagsterbranch_registry_credentials" "ci" {
  access_key_id     = dagsterbranch_registry.images.access_key_id
  secret_access_key = dagsterbranch_registry.images.secret_access_key
}

resource "terraform_data" "first_image" {
  triggers_replace = [dagsterbranch_registry.images.repository_url]

  provisioner "local-exec" {
    command = "printf '%s' \"$REGISTRY_PASSWORD\" | docker login --username \"$REGISTRY_USERNAME\" --password-stdin \"$REGISTRY\" && docker push \"$IMAGE\""
    environment = {
      REGISTRY          = ephemeral.dagsterbranch_registry_credentials.ci.endpoint
      REGISTRY_USERNAME = ephemeral.dagsterbranch_registry_credentials.ci.username
      REGISTRY_PASSWORD = ephemeral.dagsterbranch_registry_credentials.ci.password
      IMAGE             = "${dagsterbranch_registry.images.repository_url}:bootstrap"
    }
  }
}
