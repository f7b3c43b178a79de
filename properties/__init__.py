"""Hypothesis properties of eap-state's pure core (issue 4)."""
