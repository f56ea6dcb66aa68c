"""The policy team's view: market price import commands, the /policy/v1 API and the /policy dashboard."""
