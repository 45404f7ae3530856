"""Who may do what: merchant API keys now; roles, sign-in and the policy decision point later."""
