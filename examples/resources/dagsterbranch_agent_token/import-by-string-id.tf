import {
  to = dagsterbranch_agent_token.branch_agent
  id = "42"
}
