# A token for an agent that serves branch deployments and nothing else: no organization-wide grant.
resource "dagsterbranch_agent_token" "branch_agent" {
  description            = "branch deployment agent"
  organization           = false
  all_branch_deployments = true
}

# Hand the token to whatever runs the agent, e.g. a secret store; it never leaves the state otherwise.
output "branch_agent_token" {
  value     = dagsterbranch_agent_token.branch_agent.token
  sensitive = true
}
