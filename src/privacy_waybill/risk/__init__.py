"""Risk: audit events in, alerts with evidence and account restrictions out.

The engine (`engine.RiskEngine`) is pure: it is fed audit events in order and returns alerts;
rules and thresholds are data (policies/risk.yaml, `rules`). Applying an alert (storing it,
freezing an account) is the responder's job (`service`), behind ports.
"""
