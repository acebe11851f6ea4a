"""The Salesforce adapter: records read (with their account and primary contact) for prefill and
bulk send, envelope statuses upserted as ``Countersign_Envelope__c`` records through sObject
Collections, sealed PDFs attached as Salesforce Files, and Apex callouts verified.

``client`` builds a simple-salesforce client per connection (TLS trust, timeouts, API version),
``mapping`` holds what goes where, ``webhooks`` verifies inbound callouts, ``adapter`` puts it
together behind :class:`~crm_adapters.base.CrmAdapter`.
"""
