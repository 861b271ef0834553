# An agent is imported by its label. With `:TOKEN_ID` after the label, the resource also adopts that agent token
# as its own (it must serve all branch deployments and not the whole organization; destroy revokes it). With the
# label alone, the agent runs with the configured `token`, or the next apply creates a token for it.
terraform import dagsterbranch_agent.branch branch-deployments:42
