# The code locations of the repository's dagster_cloud.yaml, deployed in a branch deployment without
# retyping them. Usually `content = file("${path.module}/dagster_cloud.yaml")` or `path = "dagster_cloud.yaml"`.
data "dagsterbranch_location_file" "locations" {
  content = <<-YAML
    locations:
      - location_name: etl
        code_source:
          package_name: etl
        build:
          directory: ./etl
        container_context:
          k8s:
            namespace: branch-deployments
      - location_name: ml
        code_source:
          module_name: ml.definitions
        working_directory: ./ml
  YAML

  # Every location runs the image CI built for this commit; `*` covers locations without their own entry.
  image_overrides = {
    "*" = "ghcr.io/acme/data-platform:4f2a1c9"
  }
}

resource "dagsterbranch_deployment" "branch" {
  repo   = "acme/data-platform"
  branch = "feature/location-file"

  commit {
    hash      = "4f2a1c9"
    timestamp = 1718000000
  }

  dynamic "code_location" {
    for_each = data.dagsterbranch_location_file.locations.locations
    content {
      name                      = code_location.value.name
      image                     = code_location.value.image
      package_name              = code_location.value.package_name
      module_name               = code_location.value.module_name
      python_file               = code_location.value.python_file
      autoload_defs_module_name = code_location.value.autoload_defs_module_name
      working_directory         = code_location.value.working_directory
      executable_path           = code_location.value.executable_path
      attribute                 = code_location.value.attribute
      agent_queue               = code_location.value.agent_queue
      container_context         = code_location.value.container_context
    }
  }
}

# What a CI build step needs per location: the directory to build and, if set, the registry to push to.
output "build_directories" {
  value = { for name, build in data.dagsterbranch_location_file.locations.builds : name => build.directory }
}
