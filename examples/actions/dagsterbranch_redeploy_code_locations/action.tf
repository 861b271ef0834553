# After CI pushed a new image under the same tag:
# `terraform apply -invoke=action.dagsterbranch_redeploy_code_locations.feature`
action "dagsterbranch_redeploy_code_locations" "feature" {
  config {
    deployment = dagsterbranch_deployment.feature.name
    timeout    = "15m"
  }
}

# Or every time the deployment changes, from its lifecycle.
resource "dagsterbranch_deployment" "feature" {
  repo   = "acme/data-platform"
  branch = "feature/new-asset"

  commit {
    hash      = "8d2f1c0"
    timestamp = 1718000000
  }

  code_location {
    name        = "etl"
    image       = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dagster:feature-new-asset"
    module_name = "etl.definitions"
  }

  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.dagsterbranch_redeploy_code_locations.feature]
    }
  }
}
