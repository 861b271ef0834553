import {
  to = dagsterbranch_agent.branch
  id = "branch-deployments:42"
}
