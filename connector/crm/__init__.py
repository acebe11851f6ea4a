"""The core's side of CRM integration: connections, OAuth, prefill and status write-back."""
