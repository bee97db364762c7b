"""The 12345 hotline intake (POST /api/v1/hotline/work-orders) and its durable outbox back to the sender."""
