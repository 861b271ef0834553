# The branch deployment of one pull request, applied by CI (docs/guides/ci-github-actions.md and
# docs/guides/ci-gitlab.md). Every pull request gets its own state; CI passes the values below as
# TF_VAR_* environment variables, and the provider reads DAGSTER_CLOUD_URL and DAGSTER_CLOUD_API_TOKEN.
# Add a backend for the per-branch states next to this file (the recipes show S3 and GitLab's own).
terraform {
  required_version = ">= 1.3"
  required_providers {
    dagsterbranch = {
      source  = "dagsterbranch/dagsterbranch"
      version = "~> 0.1"
    }
  }
}

provider "dagsterbranch" {}

variable "repo" {
  type        = string
  description = "The git repository, e.g. acme/data-platform."
}

variable "branch" {
  type        = string
  description = "The pull request's source branch."
}

variable "commit_hash" {
  type        = string
  description = "The commit being deployed; also the image tag."
}

variable "commit_timestamp" {
  type        = number
  description = "The commit time in seconds since the Unix epoch (git log -1 --format=%ct)."
}

variable "commit_message" {
  type    = string
  default = null
}

variable "author_name" {
  type    = string
  default = null
}

variable "author_email" {
  type    = string
  default = null
}

variable "pull_request_number" {
  type = string
}

variable "pull_request_url" {
  type    = string
  default = null
}

variable "image_repository" {
  type        = string
  description = "The registry's repository_url; the image tag is the commit hash."
}

variable "base_deployment" {
  type    = string
  default = "prod"
}

variable "location_file" {
  type        = string
  description = "The repository's dagster_cloud.yaml (the file `dagster-cloud` reads), relative to this directory."
  default     = "../../dagster_cloud.yaml"
}

# The code locations as dagster_cloud.yaml lists them; every one runs the image CI built for this commit.
data "dagsterbranch_location_file" "locations" {
  path            = var.location_file
  image_overrides = { "*" = "${var.image_repository}:${var.commit_hash}" }
}

resource "dagsterbranch_deployment" "branch" {
  repo            = var.repo
  branch          = var.branch
  base_deployment = var.base_deployment
  # Closing the pull request destroys this state; the deployment stays in Dagster+, marked closed.
  on_destroy = "close"

  commit {
    hash         = var.commit_hash
    timestamp    = var.commit_timestamp
    message      = var.commit_message
    author_name  = var.author_name
    author_email = var.author_email
  }

  pull_request {
    number = var.pull_request_number
    url    = var.pull_request_url
  }

  dynamic "code_location" {
    for_each = data.dagsterbranch_location_file.locations.locations
    content {
      name              = code_location.value.name
      image             = code_location.value.image
      package_name      = code_location.value.package_name
      module_name       = code_location.value.module_name
      python_file       = code_location.value.python_file
      working_directory = code_location.value.working_directory
      executable_path   = code_location.value.executable_path
      attribute         = code_location.value.attribute
      agent_queue       = code_location.value.agent_queue
      container_context = code_location.value.container_context
    }
  }
}

output "deployment_name" {
  value = dagsterbranch_deployment.branch.name
}

output "deployment_url" {
  value = dagsterbranch_deployment.branch.url
}
