# The secret access key cannot be read back from AWS: after the import, change `key_rotation` to mint a
# key whose secret Terraform knows.
import {
  to = dagsterbranch_registry.images
  id = "dagster/data-platform"
}
