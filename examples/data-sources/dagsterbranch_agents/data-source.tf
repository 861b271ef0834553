# The organization's agents as Dagster+ sees them, e.g. to check that the branch-deployment agent runs.
data "dagsterbranch_agents" "all" {}

output "agents_not_running" {
  value = [for a in data.dagsterbranch_agents.all.agents : a.label if a.status != "RUNNING"]
}
