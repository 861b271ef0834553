# Branch deployments of merged or closed pull requests whose last commit is over two weeks old.
# `terraform apply -invoke=action.dagsterbranch_cleanup_branch_deployments.stale` reports them (a dry run);
# with `dry_run = false` the same command deletes them.
action "dagsterbranch_cleanup_branch_deployments" "stale" {
  config {
    repo                = "acme/data-platform"
    pull_request_status = ["CLOSED", "MERGED"]
    older_than_days     = 14
    mode                = "delete"
    dry_run             = true
  }
}
