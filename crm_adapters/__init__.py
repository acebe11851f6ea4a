"""CRM adapters (Zendesk, Salesforce) behind one contract, with local sandbox simulators."""
