# An agent token is imported by its numeric id (Organization Settings > Tokens in Dagster+).
# The token value is not readable after creation, so `token` stays empty in an imported state.
terraform import dagsterbranch_agent_token.branch_agent 42
