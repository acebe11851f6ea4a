"""The Zendesk Support adapter: tickets read for prefill and bulk send, statuses written back."""
