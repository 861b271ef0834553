# The agent token a dedicated branch-deployment agent runs with: it may serve every branch deployment and
# nothing else. The provider reads DAGSTER_CLOUD_ORGANIZATION, DAGSTER_CLOUD_API_TOKEN and
# DAGSTER_CLOUD_URL from the environment.
terraform {
  required_providers {
    dagsterbranch = {
      source = "dagsterbranch/dagsterbranch"
    }
  }
}

provider "dagsterbranch" {}

resource "dagsterbranch_agent_token" "branch_agent" {
  description            = "branch deployment agent"
  organization           = false
  all_branch_deployments = true
}

output "agent_token_id" {
  value = dagsterbranch_agent_token.branch_agent.id
}

output "agent_token" {
  value     = dagsterbranch_agent_token.branch_agent.token
  sensitive = true
}
