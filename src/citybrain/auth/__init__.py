"""Identity and authorization: users, sessions, API tokens, and the policy."""
