terraform {
  required_providers {
    dagsterbranch = {
      source  = "dagsterbranch/dagsterbranch"
      version = "~> 0.1"
    }
  }
}

# The API token is best left to the DAGSTER_CLOUD_API_TOKEN environment variable (a user token of an
# Organization Admin), so it never appears in the configuration.
provider "dagsterbranch" {
  organization = "acme" # https://acme.dagster.cloud

  # Only the registry resource uses AWS. Credentials come from the standard AWS chain.
  aws {
    region = "eu-west-1"
  }
}
