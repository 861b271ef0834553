# `terraform query` lists the open branch deployments of one repository;
# `terraform query -generate-config-out=generated.tf` writes a resource and an import block for each.
list "dagsterbranch_deployment" "open" {
  provider = dagsterbranch

  config {
    repo                = "acme/data-platform"
    pull_request_status = "OPEN"
  }
}
