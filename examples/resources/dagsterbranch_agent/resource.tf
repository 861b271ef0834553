# A dedicated agent for branch deployments. Without `token`, the resource creates an agent token that may
# serve branch deployments only, and revokes it on destroy.
resource "dagsterbranch_agent" "branch" {
  label                                = "branch-deployments"
  queues                               = ["branch"]
  replicas                             = 2
  branch_deployment_server_ttl_seconds = 3600
}

# Run the agent with whichever configuration fits where it runs; each one holds the agent token.
output "dagster_yaml" { # Docker agent
  value     = dagsterbranch_agent.branch.dagster_yaml
  sensitive = true
}

output "helm_values" { # Kubernetes: helm upgrade --install ... --values <file>
  value     = dagsterbranch_agent.branch.helm_values
  sensitive = true
}

output "ecs_parameters" { # Dagster's ECS CloudFormation template
  value     = dagsterbranch_agent.branch.ecs_parameters
  sensitive = true
}

# With a token that must never be stored (Terraform 1.11+), give it write-only, for example from an
# ephemeral variable. Nothing in state holds it then: the configurations above read it from the
# DAGSTER_CLOUD_AGENT_TOKEN environment variable (Helm: the secret `dagster-cloud-agent-token`), and a new
# token is applied by changing `token_wo_version` with it.
#
# variable "agent_token" {
#   type      = string
#   ephemeral = true
#   sensitive = true
# }
#
# resource "dagsterbranch_agent" "branch" {
#   label            = "branch-deployments"
#   token_wo         = var.agent_token
#   token_wo_version = 1
# }
#
# Or let the resource own its token and keep it only in AWS Secrets Manager (or an SSM SecureString), as
# {"DAGSTER_CLOUD_AGENT_TOKEN": "agent:…"}: an ECS task definition's `secrets` (valueFrom
# "<secret_store_arn>:DAGSTER_CLOUD_AGENT_TOKEN::") or an External Secrets `ExternalSecret` reads it from
# there, and state holds only the store's ARN, version and fingerprint.
#
# resource "dagsterbranch_agent" "ecs" {
#   label                 = "branch-deployments-ecs"
#   store_secret_in_state = false
#
#   secret_store {
#     type = "secretsmanager"
#     name = "dagster/branch-agent-token"
#   }
# }
