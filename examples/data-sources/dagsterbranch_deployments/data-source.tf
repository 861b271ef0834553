# Branch deployments of closed pull requests whose last commit is more than two weeks old: candidates
# for cleaning up.
data "dagsterbranch_deployments" "stale" {
  repo                = "acme/data-platform"
  pull_request_status = "CLOSED"
  older_than_days     = 14
}

output "stale_branch_deployments" {
  value = { for d in data.dagsterbranch_deployments.stale.deployments : d.branch => d.url }
}
