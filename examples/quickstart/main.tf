# Everything a team needs for Dagster+ branch deployments, in one configuration:
#   - the dedicated branch-deployment agent: its token and its configuration for Docker, Kubernetes or ECS;
#   - an ECR repository for the branches' images, with a CI user that may only push to it;
#   - one branch deployment per branch, whose code location runs that branch's image from the repository.
#
# Connection settings come from the environment: DAGSTER_CLOUD_ORGANIZATION, DAGSTER_CLOUD_API_TOKEN and
# DAGSTER_CLOUD_URL for Dagster+, the standard AWS variables (or profile) for AWS. `scripts/demo` sets them
# for a local Dagster+ emulator and a local AWS emulator.
terraform {
  required_version = ">= 1.3"
  required_providers {
    dagsterbranch = {
      source = "dagsterbranch/dagsterbranch"
    }
  }
}

provider "dagsterbranch" {}

variable "repo" {
  type        = string
  description = "The git repository the branches belong to."
  default     = "acme/data-platform"
}

variable "branches" {
  type = map(object({
    commit       = string
    timestamp    = number
    message      = string
    pull_request = string
  }))
  description = "Branches with an open pull request, each with the commit to deploy (also the image tag)."
  default = {
    "feature/orders" = {
      commit       = "4f9c2e17d3"
      timestamp    = 1718000000
      message      = "Add the orders pipeline"
      pull_request = "128"
    }
    "fix/late-invoices" = {
      commit       = "b07d1e99a2"
      timestamp    = 1718086400
      message      = "Count invoices paid after the due date"
      pull_request = "131"
    }
  }
}

# The agent that serves branch deployments only; it creates and owns its agent token.
resource "dagsterbranch_agent" "branch" {
  label = "branch-deployments"
}

resource "dagsterbranch_registry" "images" {
  name = "dagster/data-platform"

  lifecycle_policy {
    expire_untagged_after_days = 7
  }
}

resource "dagsterbranch_deployment" "branch" {
  for_each = var.branches

  repo   = var.repo
  branch = each.key

  commit {
    hash      = each.value.commit
    timestamp = each.value.timestamp
    message   = each.value.message
  }

  pull_request {
    number = each.value.pull_request
    url    = "https://github.com/${var.repo}/pull/${each.value.pull_request}"
  }

  code_location {
    name        = "data_platform"
    image       = "${dagsterbranch_registry.images.repository_url}:${each.value.commit}"
    module_name = "data_platform.definitions"
  }

  # Deployments are served by the agent, so it exists first and is removed last.
  depends_on = [dagsterbranch_agent.branch]
}

output "agent_dagster_yaml" {
  description = "The branch-deployment agent's dagster.yaml (Docker agent); holds its token."
  value       = dagsterbranch_agent.branch.dagster_yaml
  sensitive   = true
}

output "registry_url" {
  description = "Where CI pushes the branches' images."
  value       = dagsterbranch_registry.images.repository_url
}

output "ci_secrets" {
  description = "The secrets CI needs (store them in GitHub or GitLab)."
  value       = dagsterbranch_registry.images.ci_secrets
  sensitive   = true
}

output "branch_deployments" {
  description = "Branch => the deployment Dagster+ created for it."
  value       = { for branch, d in dagsterbranch_deployment.branch : branch => { name = d.name, url = d.url } }
}
