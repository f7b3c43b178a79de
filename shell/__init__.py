"""Ray shell of eap-state."""
